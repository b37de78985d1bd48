/** Reads SSE text from a stream until `done` says it has enough. */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  done: (text: string) => boolean,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (done(text)) break;
  }
  return text;
}
