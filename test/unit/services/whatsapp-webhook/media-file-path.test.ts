import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mediaFilePath } from '../../../../services/whatsapp-webhook/media-download.ts';

describe('mediaFilePath', () => {
  const dir = '/var/data/media';

  it('places a Meta media id (digits) directly inside the media directory', () => {
    expect(mediaFilePath(dir, '1037543291543636')).toBe(join(dir, '1037543291543636'));
    expect(mediaFilePath('relative/media', '7')).toBe(join(resolve('relative/media'), '7'));
  });

  it.each([
    '..',
    '../x',
    '../../etc/passwd',
    '/etc/passwd',
    '%2e%2e%2fetc%2fpasswd',
    '..%2F..%2Fetc',
    '12/../../x',
    '12%2f..',
    '1\\..\\..',
    'abc',
    '',
    ' 123',
    '1'.repeat(65),
  ])('refuses %j', (id) => {
    expect(() => mediaFilePath(dir, id)).toThrow(/not a Meta media id/);
  });
});
