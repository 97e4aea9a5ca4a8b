// Webhook deliveries: one row per message and subscription (the delivery log), one pg-boss job
// per delivery. A job POSTs the message signed as Standard Webhooks do
// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
// webhook-id (the same on every attempt), webhook-timestamp, webhook-signature
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>". A non-2xx answer, a timeout or no connection
// fails the attempt; pg-boss retries it with exponential backoff until its retry limit.
import { createHash, randomUUID } from 'node:crypto'
import { lookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { isIP } from 'node:net'
import type PgBoss from 'pg-boss'
import { Webhook } from 'standardwebhooks'
import type { PrismaClient } from '../db/prisma-client.js'
import type { DomainEvent } from '../plugins/events.js'
import { decryptSecret } from './webhook-secret.js'
import { addressAllowed, webhookUrlProblem, type UrlRules } from './webhook-url.js'

export const DELIVERY_QUEUE = 'webhook-delivery'

export interface DeliverySettings extends UrlRules {
  secretKey?: Buffer
  timeoutMs: number
  retryLimit: number
  retryDelaySeconds: number
}

export interface DeliveryJob {
  deliveryId: string
}

/** The body every receiver gets: Standard Webhooks' recommended {type, timestamp, data}. */
export function messageBody(event: DomainEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt,
    data: { ...event.data, ...(event.operationId ? { operationId: event.operationId } : {}) },
  })
}

/**
 * A delivery for each subscription to the event's type, and its job. `key` makes the message id
 * deterministic (an event detected twice, e.g. after a crash, is the same message: recorded
 * once, and receivers deduplicate by webhook-id as the standard asks).
 */
export async function dispatch(prisma: PrismaClient, queue: PgBoss, settings: DeliverySettings, event: DomainEvent, key?: string): Promise<string[]> {
  const subscriptions = await prisma.webhookSubscription.findMany({ where: { events: { has: event.type } }, select: { id: true } })
  const body = messageBody(event)
  const created: string[] = []
  for (const { id: subscriptionId } of subscriptions) {
    const id = key
      ? `msg_${createHash('sha256').update(`${subscriptionId}\n${key}`).digest('base64url').slice(0, 32)}`
      : `msg_${randomUUID().replaceAll('-', '')}`
    const { count } = await prisma.webhookDelivery.createMany({
      data: [{ id, subscriptionId, eventType: event.type, body, status: 'pending' }],
      skipDuplicates: true,
    })
    if (count === 0) continue
    await queue.send(DELIVERY_QUEUE, { deliveryId: id } satisfies DeliveryJob, {
      retryLimit: settings.retryLimit,
      retryDelay: settings.retryDelaySeconds,
      retryBackoff: true,
      // A worker that died mid-attempt: its job is handed out again after this.
      expireInSeconds: Math.ceil(settings.timeoutMs / 1000) + 60,
    })
    created.push(id)
  }
  return created
}

export interface AttemptResult {
  statusCode: number | null
  error: string | null
  durationMs: number
}

type Resolve = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

/**
 * Resolves names, and refuses any that lead only to internal addresses (DNS rebinding included).
 * `resolve` is the system resolver; tests hand in their own answers.
 */
export const guardedLookup = (rules: UrlRules, resolve: Resolve = lookup): LookupFunction => (hostname, options, callback) => {
  resolve(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0)
    const allowed = addresses.filter((a) => addressAllowed(a.address, rules))
    if (allowed.length === 0) {
      return callback(Object.assign(new Error(`${hostname} resolves only to internal addresses`), { code: 'EADDRNOTALLOWED' }), '', 0)
    }
    if (options.all) return (callback as unknown as (e: null, a: typeof allowed) => void)(null, allowed)
    return callback(null, allowed[0]!.address, allowed[0]!.family)
  })
}

/** One POST, with one deadline for all of it (connect, send, answer); redirects are not followed. */
export function post(url: string, body: string, headers: Record<string, string>, settings: DeliverySettings): Promise<AttemptResult> {
  const started = performance.now()
  const done = (statusCode: number | null, error: string | null): AttemptResult =>
    ({ statusCode, error, durationMs: Math.round(performance.now() - started) })
  const problem = webhookUrlProblem(url, settings)
  if (problem) return Promise.resolve(done(null, `URL refused: ${problem}`))
  const target = new URL(url)
  const host = target.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0 && !addressAllowed(host, settings)) return Promise.resolve(done(null, 'URL refused: internal address'))
  const client = target.protocol === 'https:' ? https : http
  return new Promise((resolve) => {
    const request = client.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: guardedLookup(settings),
      signal: AbortSignal.timeout(settings.timeoutMs),
    }, (response) => {
      // The answer's body is not used: read (and drop) it so the connection closes cleanly.
      response.resume()
      response.on('end', () => resolve(done(response.statusCode ?? null, null)))
      response.on('error', (err) => resolve(done(response.statusCode ?? null, err.message)))
    })
    request.on('error', (err: NodeJS.ErrnoException) =>
      resolve(done(null, err.name === 'AbortError' || err.name === 'TimeoutError' ? `no answer within ${settings.timeoutMs} ms` : (err.code ?? err.message))))
    request.end(body)
  })
}

export interface AttemptContext {
  /** pg-boss: retries done so far, and allowed. */
  retryCount: number
  retryLimit: number
}

export class DeliveryFailed extends Error {
  override readonly name = 'DeliveryFailed'
}

/**
 * One attempt of a delivery: sign, POST, record the attempt. Throws DeliveryFailed when the
 * receiver did not take it, so pg-boss retries; the last failure marks the delivery failed.
 */
export async function attemptDelivery(prisma: PrismaClient, settings: DeliverySettings, deliveryId: string, context: AttemptContext): Promise<AttemptResult | null> {
  const delivery = await prisma.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { subscription: true } })
  // Its subscription was deleted (with its deliveries), or it already got through.
  if (!delivery || delivery.status === 'succeeded') return null
  if (!settings.secretKey) throw new DeliveryFailed('GUESTGATE_WEBHOOK_SECRET_KEY is not set: deliveries cannot be signed')
  const secret = decryptSecret(delivery.subscription.secretCiphertext, settings.secretKey)
  const timestamp = new Date()
  const signature = new Webhook(secret).sign(delivery.id, timestamp, delivery.body)
  const result = await post(delivery.subscription.url, delivery.body, {
    'content-type': 'application/json',
    'user-agent': 'guestgate-webhooks/1',
    'webhook-id': delivery.id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signature,
  }, settings)
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300
  const last = context.retryCount >= context.retryLimit
  await prisma.$transaction([
    prisma.webhookDeliveryAttempt.create({
      data: { deliveryId, attempt: delivery.attempts + 1, at: timestamp, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs },
    }),
    prisma.webhookDelivery.update({
      where: { id: deliveryId },
      data: { attempts: { increment: 1 }, status: ok ? 'succeeded' : last ? 'failed' : 'pending', ...(ok ? { deliveredAt: new Date() } : {}) },
    }),
  ])
  if (!ok) throw new DeliveryFailed(result.error ?? `the receiver answered ${result.statusCode}`)
  return result
}
