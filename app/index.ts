export * from './proxy-events.js';
export * from './host-events.js';
