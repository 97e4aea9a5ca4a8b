// Graph's app role assignment ids are not GUIDs: 43 base64url characters (32 bytes) whose first
// 16 bytes are the assigned principal's object id, in the byte order .NET's Guid.ToByteArray()
// uses (the first three groups little-endian). Reading that prefix lets a settle read ask the
// principal (whose assignments are few) instead of the whole app. Graph does not document the
// layout (OBS: ids seen in tenants and public scripts that decode them with [guid]::new(bytes)),
// so callers must treat a decoded id as a hint and fall back when it leads nowhere.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ASSIGNMENT_ID = /^[A-Za-z0-9_-]{43}$/

/** A GUID's 16 bytes in .NET order: Data1 (4), Data2 (2) and Data3 (2) little-endian, then 8 bytes as written. */
export function guidToBytes(guid: string): Buffer {
  if (!GUID.test(guid)) throw new RangeError(`Not a GUID: "${guid}"`)
  const hex = Buffer.from(guid.replaceAll('-', ''), 'hex')
  return Buffer.concat([hex.subarray(0, 4).reverse(), hex.subarray(4, 6).reverse(), hex.subarray(6, 8).reverse(), hex.subarray(8)])
}

/** The GUID (lower case) that 16 bytes in .NET order stand for. */
export function bytesToGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`A GUID has 16 bytes, got ${bytes.length}`)
  const b = Buffer.from(bytes)
  const hex = Buffer.concat([b.subarray(0, 4).reverse(), b.subarray(4, 6).reverse(), b.subarray(6, 8).reverse(), b.subarray(8)]).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The principal id an assignment id starts with, or undefined when the id is not in that form. */
export function principalIdOfAssignment(assignmentId: string): string | undefined {
  if (!ASSIGNMENT_ID.test(assignmentId)) return undefined
  return bytesToGuid(Buffer.from(assignmentId, 'base64url').subarray(0, 16))
}
