// A TCP proxy in front of the machine's Postgres, so a test can take the database away from the
// app without touching the server other tests use: refuse connections (the server is down), or
// freeze them (the server hangs: connections stay open, nothing comes back).
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '../helper.js'

export interface TcpProxy {
  /** host:port the app should connect to. */
  readonly address: string
  /** Rewrites a postgresql:// URL to go through the proxy. */
  url(connectionString: string): string
  /** Drops every connection and refuses new ones (connections are reset at once). */
  block(): void
  /** Keeps connections open but forwards nothing, as a frozen server would. */
  freeze(): void
  /** Back to forwarding. Frozen connections are dropped (their protocol state is lost). */
  restore(): void
  readonly mode: 'open' | 'blocked' | 'frozen'
}

export async function startTcpProxy(t: Teardown, target = { host: '127.0.0.1', port: 5432 }): Promise<TcpProxy> {
  let mode: TcpProxy['mode'] = 'open'
  const pairs = new Set<[Socket, Socket]>()

  const server: Server = createServer((client) => {
    if (mode === 'blocked') {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(target.port, target.host)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk) => { if (mode === 'open') to.write(chunk) })
    forward(client, upstream)
    forward(upstream, client)
    const close = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const dropAll = () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy()
      upstream.destroy()
    }
    pairs.clear()
  }
  t.teardown(async () => {
    dropAll()
    await new Promise((resolve) => server.close(resolve))
  })

  return {
    address: `127.0.0.1:${port}`,
    url(connectionString) {
      const url = new URL(connectionString)
      url.host = `127.0.0.1:${port}`
      return url.toString()
    },
    block() {
      mode = 'blocked'
      dropAll()
    },
    freeze() {
      mode = 'frozen'
    },
    restore() {
      if (mode === 'frozen') dropAll()
      mode = 'open'
    },
    get mode() {
      return mode
    },
  }
}
