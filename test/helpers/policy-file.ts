// Policy files for one test, written to fresh temporary folders: the sandbox policy with changes,
// or YAML lines of the test's own.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse, stringify } from 'yaml'
import type { PolicyDocument } from '../../src/policies/policy-file.js'
import type { Teardown } from '../helper.js'
import { repoFile } from './repo.js'

type Mutable<T> = { -readonly [K in keyof T]: Mutable<T[K]> }

export async function writePolicyFile(lines: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-policy-'))
  const file = path.join(dir, 'policy.yaml')
  await writeFile(file, lines.join('\n'))
  return file
}

export async function sandboxPolicyWith(t: Teardown, change: (policy: Mutable<PolicyDocument>) => void): Promise<string> {
  const policy = parse(await readFile(repoFile('config/policy.sandbox.yaml'), 'utf8')) as Mutable<PolicyDocument>
  change(policy)
  policy.version = `${policy.version}+test`
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-policy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'policy.yaml')
  await writeFile(file, stringify(policy))
  return file
}
