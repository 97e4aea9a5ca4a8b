// The README is part of the product: its configuration table is the config schema's, its top
// keeps the two set-up commands, and it links nowhere outside the repository.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { withGeneratedTable } from '../src/cli/config-table.js'
import { repoFile } from './helpers/repo.js'

const readme = await readFile(repoFile('README.md'), 'utf8')

t.test('the configuration table is generated from the config schema (npm run docs:config)', async (t) => {
  t.equal(readme, withGeneratedTable(readme), 'README.md matches src/config.ts: run `npm run docs:config`')
})

t.test('exactly two set-up commands at the top: run the service, pass the tests', async (t) => {
  const first = /```sh\n([\s\S]*?)```/.exec(readme)![1]!.trim().split('\n')
  t.equal(first.length, 2)
  t.match(first[0], /^npm ci && npm start\s+#/)
  t.match(first[1], /^npm ci && npm test\s+#/)
})

t.test('no link leaves the repository', async (t) => {
  t.notMatch(readme, /\]\(\.\.\//, 'no ../ links')
  t.notMatch(readme, /shared\//, 'nothing from the developers\' shared folder')
})
