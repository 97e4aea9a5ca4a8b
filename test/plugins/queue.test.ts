// The job queue works for the least-privileged runtime role: queues, jobs, workers, and a job
// whose worker died is handed out again.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import PgBoss from 'pg-boss'
import t from 'tap'
import { build } from '../helper.js'

t.test('a job sent through the app\'s queue is worked once', async (t) => {
  const { app } = await build(t)
  await app.queue.createQueue('test-echo')
  const worked = new Promise<unknown>((resolve) => {
    void app.queue.work('test-echo', { pollingIntervalSeconds: 0.5 }, async ([job]) => { resolve(job!.data) })
  })
  await app.queue.send('test-echo', { hello: 'world' })
  t.same(await worked, { hello: 'world' })
})

t.test('guestgate_app, the runtime role, can create queues and send, fetch and complete jobs', async (t) => {
  const { databaseUrl } = await build(t)
  const role = `guestgate_queue_test_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin.query(`CREATE ROLE ${role} LOGIN IN ROLE guestgate_app`)
  t.teardown(async () => {
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {})
    await admin.query(`DROP ROLE IF EXISTS ${role}`)
    await admin.end()
  })
  const url = new URL(databaseUrl)
  url.username = role
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
  t.teardown(() => pool.end())
  const boss = new PgBoss({ db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values) }, migrate: false, schedule: false, supervise: false })
  await boss.start()
  t.teardown(() => boss.stop({ graceful: false, wait: true }))
  await boss.createQueue('least-privilege')
  const id = await boss.send('least-privilege', { n: 1 })
  const [job] = await boss.fetch('least-privilege')
  t.equal(job?.id, id)
  await boss.complete('least-privilege', id!)
  t.equal((await boss.getJobById('least-privilege', id!))?.state, 'completed')
  await t.rejects(pool.query('CREATE TABLE pgboss.intruder (x int)'), /permission denied/, 'and nothing more')
})
