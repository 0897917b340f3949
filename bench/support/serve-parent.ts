/**
 * @module The child's side of the benchmark's process protocol (see `child.ts`): its configuration,
 * and answering the parent's calls. It imports nothing, so that a measured process loads only what
 * it measures.
 */

/** A message from parent to child: call `method` with `args`. */
export interface CallMessage {
  kind: 'call'
  id: number
  method: string
  args: unknown
}

/** A message from child to parent: readiness, or the answer to a call. */
export type ChildMessage =
  | { kind: 'ready'; value: unknown }
  | { kind: 'result'; id: number; value?: unknown; error?: string }

/** The JSON configuration a child was forked with. */
export function childConfig<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T
}

/**
 * Answers the parent's calls with `methods` (plus `peakRss` and `close`, which runs `onClose`
 * and exits), then announces readiness with `ready`.
 */
export function serveParent(
  ready: unknown,
  methods: Record<string, (args: any) => Promise<unknown>>,
  onClose: () => Promise<void> = async () => {},
): void {
  const all: Record<string, (args: any) => Promise<unknown>> = {
    ...methods,
    // maxRSS is in kilobytes.
    peakRss: async () => process.resourceUsage().maxRSS * 1024,
    close: async () => {
      await onClose()
      setImmediate(() => process.exit(0))
    },
  }
  process.on('message', (raw) => {
    const msg = raw as CallMessage
    const method = all[msg.method]
    const reply = (body: Omit<Extract<ChildMessage, { kind: 'result' }>, 'kind' | 'id'>) => process.send!({ kind: 'result', id: msg.id, ...body })
    if (!method) return reply({ error: `no method ${msg.method}` })
    method(msg.args).then(
      (value) => reply({ value }),
      (err: unknown) => reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    )
  })
  // The parent going away must not leave servers behind.
  process.on('disconnect', () => process.exit(0))
  process.send!({ kind: 'ready', value: ready })
}
