// A stand-in for the tenant's key endpoint (Entra's /discovery/v2.0/keys) that fails the ways a
// real one does: an error status, a body that is not JSON or not a key set, a connection reset,
// no answer at all, nothing listening. It serves the keys of a TestIssuer; tokens for it are
// signed by that issuer with `issuer: endpoint.issuer`.
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '../helper.js'
import type { TestIssuer } from '../helpers/test-issuer.js'

export type KeyEndpointMode = 'up' | 'error' | 'not-json' | 'not-a-key-set' | 'reset' | 'hang' | 'refused'

export interface KeyEndpoint {
  authority: string
  /** The issuer (iss) of tokens whose keys come from here. */
  issuer: string
  /** Requests that reached it, whatever it answered. */
  readonly requests: number
  /** Listening again on the same port when it was 'refused'. */
  setMode(mode: KeyEndpointMode): Promise<void>
}

export async function startKeyEndpoint(t: Teardown, source: TestIssuer, initial: KeyEndpointMode = 'up'): Promise<KeyEndpoint> {
  let mode: KeyEndpointMode = 'up'
  let requests = 0
  const hanging = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    requests++
    // No kept-alive connection for the next fetch to find: once 'refused', nothing answers.
    res.setHeader('connection', 'close')
    if (req.url !== `/${source.tenantId}/discovery/v2.0/keys`) return void res.writeHead(404).end()
    switch (mode) {
      case 'error': return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"server_error"}')
      case 'not-json': return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>')
      case 'not-a-key-set': return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"none"}')
      case 'reset': return void req.socket.destroy()
      case 'hang': return void hanging.add(res)
      default: res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: source.keys.map((k) => k.jwk) }))
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const stopHanging = () => {
    for (const res of hanging) res.destroy()
    hanging.clear()
  }
  t.teardown(async () => {
    stopHanging()
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const authority = `http://127.0.0.1:${port}`
  const endpoint: KeyEndpoint = {
    authority,
    issuer: `${authority}/${source.tenantId}/v2.0`,
    get requests() { return requests },
    async setMode(next) {
      stopHanging()
      if (next === 'refused' && server.listening) {
        const closed = once(server, 'close')
        server.close()
        server.closeAllConnections()
        await closed
      } else if (next !== 'refused' && !server.listening) {
        server.listen(port, '127.0.0.1')
        await once(server, 'listening')
      }
      mode = next
    },
  }
  await endpoint.setMode(initial)
  return endpoint
}
