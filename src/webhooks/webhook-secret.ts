// Webhook signing secrets: the Standard Webhooks form (whsec_ + base64 of 24 to 64 random
// bytes, https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
// stored encrypted with AES-256-GCM so deliveries can be signed, and never shown again.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export const SECRET_PATTERN = '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$'

/** Why a secret is not acceptable, or null. Never includes the secret itself. */
export function secretProblem(secret: string): string | null {
  if (!new RegExp(SECRET_PATTERN).test(secret)) return 'must be whsec_ followed by base64'
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64')
  if (bytes.length < 24 || bytes.length > 64) return 'must decode to 24 to 64 bytes of key (Standard Webhooks)'
  return null
}

const VERSION = 'v1'

export function encryptSecret(secret: string, key: Buffer): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
}

export function decryptSecret(stored: string, key: Buffer): string {
  const [version, iv, tag, ciphertext] = stored.split('.')
  if (version !== VERSION || !iv || !tag || !ciphertext) throw new Error('stored webhook secret has an unknown format')
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
}
