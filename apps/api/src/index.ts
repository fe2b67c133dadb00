export { startApi } from './api';
export type { Api, StartApiOptions } from './api';
export { ALL_BENDS } from './app';
export type { AppOptions, ExpressBends } from './app';
