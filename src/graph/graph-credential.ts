// Which @azure/identity credential talks to Graph, chosen from explicit settings (our config),
// never by probing the environment at token time the way DefaultAzureCredential does.
// The package is loaded on first use (only tenant mode, the doctor and the conformance run build
// one of its credentials; loading it costs about half a CPU-second of every start), and as an ES
// module: its CommonJS build, loaded on demand, was a second copy of its classes, so `instanceof
// ClientSecretCredential` failed for code holding the ES module's class.
import type { AccessToken, TokenCredential } from '@azure/identity'

export type GraphCredentialSettings =
  | { kind: 'clientSecret'; tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }
  | {
      kind: 'clientCertificate'
      tenantId: string
      clientId: string
      /** PEM file holding the certificate and its private key. */
      certificatePath: string
      certificatePassword?: string
      /** Send the x5c chain (subject name / issuer authentication). */
      sendCertificateChain?: boolean
      authorityHost?: string
    }
  /** clientId selects a user-assigned identity; absent means the system-assigned one. */
  | { kind: 'managedIdentity'; clientId?: string }
  | { kind: 'workloadIdentity'; tenantId: string; clientId: string; tokenFilePath: string; authorityHost?: string }
  /** Sandbox only: the Graph simulator accepts any bearer token. */
  | { kind: 'static'; token: string }

/** What may be logged about a credential: never a secret, password or token. */
export interface CredentialDescription {
  kind: GraphCredentialSettings['kind']
  tenantId?: string
  clientId?: string
  authorityHost?: string
  certificatePath?: string
  tokenFilePath?: string
}

// Far enough that nothing ever refreshes it, a fixed value so it is the same for every call.
const STATIC_TOKEN_EXPIRY = Date.parse('2999-12-31T00:00:00Z')

/** A credential that always returns the same token: for the sandbox simulator only. */
export function createStaticCredential(token: string): TokenCredential {
  const accessToken: AccessToken = { token, expiresOnTimestamp: STATIC_TOKEN_EXPIRY, tokenType: 'Bearer' }
  return { getToken: async () => accessToken }
}

/** Entra's own cloud hosts, which MSAL knows without asking anyone (its instance discovery metadata). */
const MICROSOFT_AUTHORITY_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net',
  'login.partner.microsoftonline.cn', 'login.chinacloudapi.cn', 'login.microsoftonline.de',
  'login.microsoftonline.us', 'login.usgovcloudapi.net', 'login-us.microsoftonline.com',
])

/**
 * An authority host that is not one of Entra's clouds (Azure Stack, a private cloud, a local
 * stand-in) would otherwise be looked up at login.microsoftonline.com first ("instance
 * discovery"), which fails there or leaves the network it belongs to. @azure/identity documents
 * disableInstanceDiscovery for exactly that case.
 */
function authorityOptions(authorityHost: string | undefined): { authorityHost?: string; disableInstanceDiscovery?: boolean } {
  if (!authorityHost) return {}
  const host = new URL(authorityHost).hostname.toLowerCase()
  return MICROSOFT_AUTHORITY_HOSTS.has(host) ? { authorityHost } : { authorityHost, disableInstanceDiscovery: true }
}

export async function createGraphCredential(settings: GraphCredentialSettings): Promise<TokenCredential> {
  if (settings.kind === 'static') return createStaticCredential(settings.token)
  const { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } = await import('@azure/identity')
  switch (settings.kind) {
    case 'clientSecret':
      return new ClientSecretCredential(settings.tenantId, settings.clientId, settings.clientSecret, authorityOptions(settings.authorityHost))
    case 'clientCertificate':
      return new ClientCertificateCredential(
        settings.tenantId,
        settings.clientId,
        { certificatePath: settings.certificatePath, certificatePassword: settings.certificatePassword },
        { sendCertificateChain: settings.sendCertificateChain, ...authorityOptions(settings.authorityHost) },
      )
    case 'managedIdentity':
      return settings.clientId ? new ManagedIdentityCredential({ clientId: settings.clientId }) : new ManagedIdentityCredential()
    case 'workloadIdentity':
      return new WorkloadIdentityCredential({
        tenantId: settings.tenantId,
        clientId: settings.clientId,
        tokenFilePath: settings.tokenFilePath,
        ...authorityOptions(settings.authorityHost),
      })
  }
}

/** process.env, or a parsed config object: only string values are read. */
export type AzureEnvironment = Readonly<Record<string, unknown>>

/**
 * Reads the standard AZURE_* variables in the order DefaultAzureCredential tries them:
 * EnvironmentCredential (client secret, then certificate), WorkloadIdentityCredential
 * (AZURE_FEDERATED_TOKEN_FILE), then ManagedIdentityCredential (user-assigned when
 * AZURE_CLIENT_ID is set). The tenant is AZURE_TENANT_ID, else GUESTGATE_TENANT_ID. Unlike
 * DefaultAzureCredential, a secret, certificate or token file without AZURE_TENANT_ID and
 * AZURE_CLIENT_ID is a configuration error, not a silent fall through to managed identity.
 */
export function graphCredentialSettingsFromEnv(env: AzureEnvironment): GraphCredentialSettings {
  const value = (name: string) => {
    const raw = env[name]
    return typeof raw === 'string' ? raw.trim() || undefined : undefined
  }
  const authorityHost = value('AZURE_AUTHORITY_HOST')
  const authority = authorityHost ? { authorityHost } : {}
  const appIdentity = (material: string) => {
    // The README documents GUESTGATE_TENANT_ID (or AZURE_TENANT_ID): both name the one tenant.
    const tenantId = value('AZURE_TENANT_ID') ?? value('GUESTGATE_TENANT_ID')
    const clientId = value('AZURE_CLIENT_ID')
    if (tenantId && clientId) return { tenantId, clientId }
    const missing = [!tenantId && 'AZURE_TENANT_ID', !clientId && 'AZURE_CLIENT_ID'].filter(Boolean).join(' and ')
    throw new Error(`${material} is set but ${missing} is not: set both, or unset ${material} to use a managed identity`)
  }

  const clientSecret = value('AZURE_CLIENT_SECRET')
  if (clientSecret) return { kind: 'clientSecret', ...appIdentity('AZURE_CLIENT_SECRET'), clientSecret, ...authority }

  const certificatePath = value('AZURE_CLIENT_CERTIFICATE_PATH')
  if (certificatePath) {
    const certificatePassword = value('AZURE_CLIENT_CERTIFICATE_PASSWORD')
    const chain = value('AZURE_CLIENT_SEND_CERTIFICATE_CHAIN')?.toLowerCase()
    return {
      kind: 'clientCertificate',
      ...appIdentity('AZURE_CLIENT_CERTIFICATE_PATH'),
      certificatePath,
      ...(certificatePassword ? { certificatePassword } : {}),
      ...(chain === 'true' || chain === '1' ? { sendCertificateChain: true } : {}),
      ...authority,
    }
  }

  const tokenFilePath = value('AZURE_FEDERATED_TOKEN_FILE')
  if (tokenFilePath) return { kind: 'workloadIdentity', ...appIdentity('AZURE_FEDERATED_TOKEN_FILE'), tokenFilePath, ...authority }

  const clientId = value('AZURE_CLIENT_ID')
  return clientId ? { kind: 'managedIdentity', clientId } : { kind: 'managedIdentity' }
}

/** A log-safe summary of the settings. */
export function describeCredential(settings: GraphCredentialSettings): CredentialDescription {
  switch (settings.kind) {
    case 'clientSecret':
      return { kind: settings.kind, tenantId: settings.tenantId, clientId: settings.clientId, ...authorityOf(settings) }
    case 'clientCertificate':
      return {
        kind: settings.kind,
        tenantId: settings.tenantId,
        clientId: settings.clientId,
        certificatePath: settings.certificatePath,
        ...authorityOf(settings),
      }
    case 'managedIdentity':
      return settings.clientId ? { kind: settings.kind, clientId: settings.clientId } : { kind: settings.kind }
    case 'workloadIdentity':
      return {
        kind: settings.kind,
        tenantId: settings.tenantId,
        clientId: settings.clientId,
        tokenFilePath: settings.tokenFilePath,
        ...authorityOf(settings),
      }
    case 'static':
      return { kind: settings.kind }
  }
}

function authorityOf(settings: { authorityHost?: string }): { authorityHost?: string } {
  return settings.authorityHost ? { authorityHost: settings.authorityHost } : {}
}
