/**
 * The take-once rule shared by the fs and S3 stores' reads (src/adapters/shared/take-once.ts): the first form
 * taken wins, `body` is one stream however often it is read, and release reports what it has to let go.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TakeOnce } from '../../src/adapters/shared/take-once.ts';

describe('TakeOnce', () => {
  it('body is made once, and then no other form can be taken', () => {
    const forms = new TakeOnce();
    let opened = 0;
    const open = () => (opened++, Readable.from([Buffer.from('x')]));
    const b = forms.body(open);
    expect(forms.body(open)).toBe(b);
    expect(forms.webBody).toBe(b);
    expect(opened).toBe(1);
    expect(forms.take('nodeStream', () => 'stream')).toBeUndefined();
    expect(forms.take('byteSource', () => 'source')).toBeUndefined();
    expect(forms.release()).toBe('body');
    expect(forms.release()).toBe('released');
  });

  it('a web stream is the body as it is (the S3 store in Workers)', () => {
    const forms = new TakeOnce();
    const web = new ReadableStream<Uint8Array>();
    expect(forms.body(() => web)).toBe(web);
    expect(forms.release()).toBe('body');
  });

  it('a taken form excludes the others, body included (it throws, being a property)', () => {
    const forms = new TakeOnce();
    expect(forms.take('nodeStream', () => 'stream')).toBe('stream');
    expect(forms.take('nodeStream', () => 'again')).toBeUndefined();
    expect(() => forms.body(() => Readable.from([]))).toThrow(/already taken \(nodeStream\)/);
    expect(forms.webBody).toBeUndefined();
    expect(forms.release()).toBe('nodeStream');
  });

  it('nothing taken: release says so, and nothing can be taken after it', () => {
    const forms = new TakeOnce();
    expect(forms.release()).toBeUndefined();
    expect(forms.take('byteSource', () => 'source')).toBeUndefined();
    expect(() => forms.body(() => Readable.from([]))).toThrow(/already taken \(released\)/);
  });
});
