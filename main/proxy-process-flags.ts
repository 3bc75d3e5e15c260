/**
 * Node flags for the process the proxy runs in: the `sluice` command's shebang, `npm start` and
 * the desktop app's utility process all pass these (a test keeps the first two in step with this).
 *
 * `--initial-old-space-size=32`: every socket read and TLS record arrives in a fresh buffer that
 * dies young, and V8 (11.3, Node 20) counts those buffers against the old generation's limit. Once
 * the old generation is past 8 MB (the host's is, the bare core's is not) it therefore starts a
 * full collection every 10 to 20 MiB forwarded: 15 to 24 per 256 MiB, a quarter of the proxy's
 * CPU. A floor on that limit leaves room for the buffers between scavenges. 64 MB was the first
 * choice; since the host's live heap shrank (12 MB, the protobuf code loaded on demand) 32 MB
 * keeps full collections at about one per GiB forwarded (64: 0.4) and none in 40,000 small
 * requests, CPU per GiB and per request the same within the machine's noise, while the garbage a
 * full collection waits for is halved: peak RSS 8 to 25 MiB lower on the bulk and HTTP/2 rows.
 * It is only read at start: `v8.setFlagsFromString` has no effect.
 *
 * `--max-semi-space-size=4`: forwarding at line rate grows V8's young generation to its largest
 * (16 MB semi-spaces, 48 MB with the space it promotes into) and RSS never gives it back. Capped
 * at 4 MB the bench's peak proxy RSS fell by 10 to 35 MiB on the bulk rows (HTTP/1.1, HTTPS,
 * HTTP/2) with CPU per GiB and per request unchanged within the machine's noise: what dies young
 * here (read buffers' wrappers, events) dies within a few MB.
 */
export const PROXY_PROCESS_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=32', '--max-semi-space-size=4'];

/**
 * Node flags for a proxy process the `node` binary runs (the `sluice` command and `npm start`), not
 * for the desktop app's utility process: there the V8 platform is Electron's, made before any flag
 * is read.
 *
 * `--v8-pool-size=1`: V8's background threads (four by default) run its garbage collector's helper
 * tasks and its optimising compiler, and each thread's allocations land in a malloc arena of its
 * own, which keeps its memory once the task is done. Measured in alternating bench rounds on a
 * 2-core machine: a fresh proxy's RSS under a slow HTTPS reader grew +7.1 to +7.9 MiB against +8.0
 * to +10.4 (five rounds each; `MALLOC_ARENA_MAX=2` saved more, but at a third more CPU per HTTPS
 * request, and a command cannot set its own environment), and with fewer threads taking the cores
 * from the forwarding thread the 1,000-stream SSE row's p99 added latency fell from a median of 31
 * to 15 ms (HTTPS) and 17 to 6 ms (HTTP) over four rounds. CPU per GiB and per request stayed within
 * noise, but for 100 HTTP/2 streams spilling their bodies to disk (5.9 against 5.2 s/GiB on average,
 * the ranges overlapping): the collector has one helper now.
 */
export const NODE_PLATFORM_FLAGS: readonly string[] = ['--v8-pool-size=1'];
