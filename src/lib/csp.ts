/**
 * Imported first by every browser entry (the app, the widget, the service worker and the workers). The hub's
 * Content-Security-Policy forbids eval (server/http/security-headers.ts); zod 4 would probe for it with `Function('')`
 * to compile faster parsers, and each probe is a reported violation. Jitless, it parses without eval.
 */
import { z } from 'zod'

z.config({ jitless: true })
