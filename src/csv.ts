// CSV for people and spreadsheets, one implementation for every download (audit export, reports,
// bulk job results): RFC 4180 quoting and CRLF line ends, and a text cell that a spreadsheet would
// run as a formula (starting with = + - @, tab or carriage return) is prefixed with an apostrophe,
// so a value such as "=HYPERLINK(...)" stays text (OWASP "CSV injection"). Such cells differ from
// the stored value by that leading apostrophe; NDJSON carries the exact values.

const FORMULA_START = /^[=+\-@\t\r]/
const NEEDS_QUOTES = /[",\r\n]/

export type CsvValue = string | number | boolean | null | undefined

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'string') return String(value)
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One whole line, terminator included. */
export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',') + '\r\n'
}
