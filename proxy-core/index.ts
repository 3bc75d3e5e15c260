/** Sluice's proxy core: a pure Node library. No Electron, no DOM. */
export { SluiceProxy, type LocalDocument, type ProxyOptions } from './proxy-server.js';
export {
  loadOrCreateCa,
  CaFileError,
  CA_CERT_FILE,
  CA_KEY_FILE,
  type CertificateAuthority,
} from './ca/certificate-authority.js';
export { DEFAULT_CAPTURE, DEFAULT_TIMEOUTS, type CaptureOptions, type TimeoutOptions } from './options.js';
export { BodyCapture, CaptureBudget, type CapturedRange } from './capture/body-capture.js';
export { LeafCertificates } from './ca/leaf-certificates.js';
export { now } from './clock.js';
export { bracketHost } from './forward/connect-target.js';
/** The HTTP/2 flow-control settings of both legs, for a relay measured against Sluice's. */
export { H2_MAX_SESSION_MEMORY_MB, H2_SETTINGS, widenConnectionWindow } from './forward/h2-settings.js';
export { makeSpillDir } from './capture/spill-dirs.js';
export { isEventStream, SseTracker } from './capture/sse-tracker.js';
export { RpcFramer } from './capture/grpc-framer.js';
export type { ProxyEventListener } from './event-hub.js';
export type { Mock, RecordedPiece, RecordedResponse } from './mock/mock-book.js';
export type { ResendRequest } from './resend/resend-client.js';
export { webSocketFrame } from './capture/websocket-frames.js';
export type { BreakpointDecision } from './rules/shaped-source.js';
export type * from '../app/proxy-events.js';
