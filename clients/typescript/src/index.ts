export {
  AccountsClient,
  createAccountsClient,
  unwrap,
  type AccountsClientOptions,
  type ChangePasswordInput,
  type CodeSent,
  type ForgotPasswordInput,
  type LoginInput,
  type LogoutScope,
  type Me,
  type RegisterInput,
  type ResendCodeInput,
  type ResetPasswordInput,
  type SessionInfo,
  type SignedIn,
  type TokenBody,
  type User,
  type VerifyCodeInput,
} from "./client.js";
export { ApiError, isApiError, parseRetryAfter, type ErrorCode } from "./errors.js";
export { Session, type RefreshMode, type RefreshOutcome, type SessionOptions, type TokenPair } from "./session.js";
export type { components, operations, paths } from "./schema.js";
