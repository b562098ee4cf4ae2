export { MeshworkError, errorFromWire } from './errors.ts'
export type { ErrorCode, MeshworkErrorOptions, WireError } from './errors.ts'
export {
  MAX_MATRIX_DIM,
  MAX_TILE,
  MAX_MATRIX_ELEMENTS,
  MAX_JSON_BODY_BYTES,
  MAX_RESULT_BODY_BYTES,
  MAX_BLOB_UPLOAD_BYTES,
  MAX_LEASE_UNITS,
  MAX_BATCH_RESULTS,
  MAX_CLOCK_SKEW_MS,
} from './limits.ts'
export { toBase64, fromBase64, toBase64Url, toHex, sha256Hex, bytesToF32, f32ToBytes } from './encoding.ts'
export { DEVICE_HEADER, TIME_HEADER, SIGNATURE_HEADER, DEVICE_ID_PATTERN, canonicalRequest } from './signing.ts'
export type { CanonicalRequestParameters } from './signing.ts'
export {
  API_PREFIX,
  Backend,
  Hash,
  WorkloadId,
  UnitId,
  JobId,
  ResultState,
  LeaseRequest,
  LeasedUnit,
  LeaseResponse,
  ResultSubmission,
  SubmitAck,
  ResultBatch,
  BatchAck,
  BatchItemAck,
  VolunteerSummary,
  VolunteerResult,
  VolunteerResults,
  CreditPoint,
  CreditHistory,
  JobState,
  CreateJobRequest,
  JobProgress,
  JobList,
  BlobUploadResponse,
  PartnerId,
  PartnerReport,
  CurrentWork,
  Health,
  HubConfig,
  HubStats,
  WireErrorSchema,
  describeZodError,
} from './schemas.ts'
export { generateDeviceKey, signRequest } from './sign-request.ts'
export type { DeviceKey, SignRequestParameters } from './sign-request.ts'
export { PARTNER_ID_PATTERN, PARTNER_ID_RULE, WIDGET_MESSAGE_SOURCE, WIDGET_EVENT_TYPES } from './widget.ts'
export type { WidgetEventType, WidgetMessage, WidgetState } from './widget.ts'
