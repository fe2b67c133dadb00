import { z } from './zod';

/** GET /desk/config — what the merchant desk needs to know about this deployment before a merchant signs in. */
export const deskConfig = z
  .object({
    notifierUrl: z
      .url()
      .openapi({ description: "the notifier's origin as browsers reach it (NOTIFIER_PUBLIC_URL)", example: 'http://localhost:3001' }),
    devAuth: z.boolean().openapi({ description: 'POST /v1/dev/tokens is served (DEV_AUTH): the desk offers demo merchants' }),
  })
  .openapi('DeskConfig');
export type DeskConfig = z.infer<typeof deskConfig>;
