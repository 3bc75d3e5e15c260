export * from './proxy-events.js';
export * from './host-events.js';
export * from './contract.js';
