/** The build's id (vite.config.ts `define`): a timestamp, or MESHWORK_BUILD_ID when set. */
declare const __MESHWORK_BUILD__: string
