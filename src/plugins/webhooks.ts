// Webhooks: every domain event on the bus (access granted or removed, expiry reminders) and the
// invitation-accepted poller's findings become deliveries to the subscriptions that asked for
// their type, sent from the job queue with retries (src/webhooks).
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DomainEvent } from './events.js'
import { attemptDelivery, DeliveryFailed, DELIVERY_QUEUE, dispatch, type DeliveryJob, type DeliverySettings } from '../webhooks/webhook-deliveries.js'
import { pollInvitations, POLL_QUEUE, type PollResult } from '../webhooks/invitation-poller.js'
import { SCHEDULED_JOB_POLL_SECONDS, wakeableWorkers } from './queue.js'

export interface Webhooks {
  readonly settings: DeliverySettings
  /** Records and queues a delivery per matching subscription; `key` makes the message id stable. */
  dispatch(event: DomainEvent, key?: string): Promise<string[]>
  /** One pass of the invitation-accepted poller (the scheduled job runs this). */
  pollInvitations(requestId?: string): Promise<PollResult>
}

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: Webhooks
  }
}

export default fp(async function webhooks(app: FastifyInstance) {
  const { config } = app
  const settings: DeliverySettings = { ...config.webhooks }
  // Deliveries queued here are started at once (the worker is woken); the worker's poll is for
  // deliveries queued by other replicas and for retries falling due.
  // Set once the worker runs; a dispatch before that is picked up by its first poll.
  const deliveryWorker = { wake: () => {} }
  const wakeDeliveries = () => deliveryWorker.wake()
  const instance: Webhooks = {
    settings,
    dispatch: async (event, key) => {
      const queued = await dispatch(app.prisma, app.queue, settings, event, key)
      if (queued.length > 0) wakeDeliveries()
      return queued
    },
    pollInvitations: (requestId = randomUUID()) => pollInvitations(app, requestId, async (user) => {
      const acceptedAt = user.externalUserStateChangeDateTime ?? new Date().toISOString()
      await instance.dispatch({
        type: 'guest.invitation.accepted',
        occurredAt: acceptedAt,
        data: { guestId: user.id, email: user.mail, displayName: user.displayName, acceptedAt },
      }, `guest.invitation.accepted:${user.id}:${acceptedAt}`)
    }),
  }
  app.decorate('webhooks', instance)

  await app.queue.createQueue(DELIVERY_QUEUE)
  // One poll at a time across replicas.
  await app.queue.createQueue(POLL_QUEUE, { name: POLL_QUEUE, policy: 'singleton' })
  await app.queue.schedule(POLL_QUEUE, config.webhooks.invitationPollCron, {}, { tz: 'UTC' })

  deliveryWorker.wake = (await wakeableWorkers<DeliveryJob>(app.queue, DELIVERY_QUEUE, { count: 1, pollingIntervalSeconds: config.queuePollSeconds }, async (job) => {
    try {
      await attemptDelivery(app.prisma, settings, job.data.deliveryId, { retryCount: job.retryCount, retryLimit: job.retryLimit })
    } catch (err) {
      // The receiver's answer, never the message or its signature.
      if (err instanceof DeliveryFailed) app.log.warn({ deliveryId: job.data.deliveryId, attempt: job.retryCount + 1, reason: err.message }, 'webhook delivery attempt failed')
      throw err
    }
  })).wake
  // The poll is a cron job (every few minutes): a slow look for it is enough.
  await app.queue.work(POLL_QUEUE, { pollingIntervalSeconds: SCHEDULED_JOB_POLL_SECONDS, batchSize: 1 }, async ([job]) => {
    const result = await instance.pollInvitations(job?.id)
    if (result.accepted.length > 0) app.log.info({ accepted: result.accepted.length, pending: result.pending }, 'invitations accepted')
  })

  const unsubscribe = app.events.subscribe(async (event) => {
    // The invitation poller dispatches its own events (awaited, with a stable id).
    if (event.type === 'guest.invitation.accepted') return
    await instance.dispatch(event)
  })
  app.addHook('onClose', async () => { unsubscribe() })
}, { name: 'webhooks', dependencies: ['config', 'database', 'queue', 'events', 'graph'] })
