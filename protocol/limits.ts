/** Size limits shared by the hub (which enforces them) and the clients (which stay inside them). */

/** Largest matrix dimension a matmul job may declare. */
export const MAX_MATRIX_DIM = 8192
/** Largest tile edge (rows of A and columns of B per unit). */
export const MAX_TILE = 512
/** Most elements in one job input matrix (64 Mi floats = 256 MiB). */
export const MAX_MATRIX_ELEMENTS = 64 * 1024 * 1024

/** Most units one job may split into (each is a row in the store and a line in the job's progress). */
export const MAX_UNITS_PER_JOB = 16_384

/** Body limit for small JSON requests (lease, job creation, sign-in). */
export const MAX_JSON_BODY_BYTES = 64 * 1024
/** Body limit for a result submission: a MAX_TILE x MAX_TILE f32 output in base64 plus envelope. */
export const MAX_RESULT_BODY_BYTES = Math.ceil((MAX_TILE * MAX_TILE * 4 * 4) / 3) + 64 * 1024
/** Body limit for a job owner's binary input upload. */
export const MAX_BLOB_UPLOAD_BYTES = 256 * 1024 * 1024

/** Most results in one batch submission (their body stays within MAX_RESULT_BODY_BYTES all together). */
export const MAX_BATCH_RESULTS = 64

/** Most units one lease request may ask for. */
export const MAX_LEASE_UNITS = 16
/** How far a signed request's timestamp may be from the hub's clock, in ms. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
