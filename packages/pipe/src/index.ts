export { DEFAULT_PIPE_SPIN_US, PIPE_HANDLE_KIND, Pipe, PipeConnection, socketPair } from './lib/pipe.js';
export type { PipeOptions } from './lib/pipe.js';
export { ChannelConnection, channelConnection } from './lib/channel.js';
export type { ChannelConnectionOptions } from './lib/channel.js';
export { PortConnection, portConnection, portPair } from './lib/port.js';
export type { PortConnectionOptions } from './lib/port.js';
