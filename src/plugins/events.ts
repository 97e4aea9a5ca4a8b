// Domain events: what happened to a guest's access, for whoever listens (webhook subscriptions).
// Publishing never fails the operation that caused it: the change is already made and audited.
// The webhooks plugin subscribes and delivers; without it, events go nowhere.
import { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const EVENT_TYPES = [
  'guest.invitation.accepted',
  'guest.access.granted',
  'guest.access.removed',
  /** The expiry scheduler took a guest's access (or the guest) away when its expiry came. */
  'guest.access.expired',
  /** Days before an expiry (policy expiry.reminderDaysBefore): whom to tell, what ends when. */
  'expiry.reminder',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

export interface DomainEvent {
  type: EventType
  /** When it happened (ISO 8601). */
  occurredAt: string
  /** The audit operation that made it, when there is one. */
  operationId?: string
  data: Record<string, unknown>
}

export interface EventBus {
  publish(event: Omit<DomainEvent, 'occurredAt'> & { occurredAt?: string }): void
  /** Subscribers run after the publisher moved on; their failures are theirs (logged). */
  subscribe(listener: (event: DomainEvent) => Promise<void> | void): () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus
  }
}

export default fp(async function events(app: FastifyInstance) {
  const emitter = new EventEmitter<{ event: [DomainEvent] }>()
  app.decorate('events', {
    publish(event) {
      emitter.emit('event', { ...event, occurredAt: event.occurredAt ?? new Date().toISOString() })
    },
    subscribe(listener) {
      const run = (event: DomainEvent) => {
        Promise.resolve().then(() => listener(event)).catch((err: unknown) => app.log.error({ err, event: event.type }, 'an event subscriber failed'))
      }
      emitter.on('event', run)
      return () => { emitter.off('event', run) }
    },
  } satisfies EventBus)
}, { name: 'events' })
