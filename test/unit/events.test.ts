import { describe, expect, it } from 'vitest';
import { LineSplitter, parseEventLine } from '../../emulator/events.ts';

describe('serial event parser', () => {
  it('parses name and key=value fields', () => {
    const e = parseEventLine('EVENT panic vector=14 name=page-fault rip=0x100abc err=0x2\r', 12);
    expect(e).toMatchObject({ name: 'panic', hostMs: 12, fields: { vector: '14', name: 'page-fault', rip: '0x100abc', err: '0x2' } });
  });
  it('accepts an event with no fields', () => {
    expect(parseEventLine('EVENT ready')).toMatchObject({ name: 'ready', fields: {} });
  });
  it('ignores lines that are not events', () => {
    for (const l of ['', 'hello', 'EVENT', 'EVENT Bad', 'EVENTS x', 'EVENT ok key', 'xEVENT ready']) {
      expect(parseEventLine(l)).toBeUndefined();
    }
  });
  it('splits a stream into lines across chunk boundaries', () => {
    const s = new LineSplitter();
    expect(s.push('EVENT bo')).toEqual([]);
    expect(s.push('ot stage=mbr\r\nEVENT re')).toEqual(['EVENT boot stage=mbr']);
    expect(s.push('ady ms=1\n')).toEqual(['EVENT ready ms=1']);
    expect(s.flush()).toEqual([]);
  });
});
