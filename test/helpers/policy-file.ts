// A policy file of a test's own, written to a fresh temporary folder (YAML lines joined).
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

export async function writePolicyFile(lines: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-policy-'))
  const file = path.join(dir, 'policy.yaml')
  await writeFile(file, lines.join('\n'))
  return file
}
