/** Types shared by the LLM client and its response cache. */
export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Why a request failed after its retries; the LLM agent counts failures by these names. */
export type LlmFailureReason = 'timeout' | 'http-429' | 'http-5xx' | 'http-4xx' | 'network' | 'bad-response' | 'response-too-large';
