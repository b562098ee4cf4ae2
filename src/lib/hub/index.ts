export { HubClient } from './client.ts'
export type { HubClientOptions, SubmitParameters } from './client.ts'
