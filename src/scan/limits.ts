/** Defaults of the scanner's own limits (the gate's configuration can change them: gate/config.ts). */

/** Decoded/encoded ratio allowed by default: real payloads compress 2–20×; a gzip bomb about 1,000×. */
export const DEFAULT_MAX_DECODE_RATIO = 100;
/** Decoded text values this long are files: a 1-pixel PNG is about 70 bytes, the demo's listed note 101. */
export const DEFAULT_MIN_TEXT_FILE_BYTES = 64;
/** Files decoded from text values per upload, like MAX_PARTS for multipart parts. */
export const DEFAULT_MAX_TEXT_FILES = 1000;
