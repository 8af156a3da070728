import { describe, expect, it } from 'vitest';
import { isCompleteCode, normalizeCode } from './code';

describe('normalizeCode', () => {
  it.each([
    ['123456', '123456'],
    ['123 456', '123456'],
    [' 123-456 ', '123456'],
    ['Your code: 123456.', '123456'],
    ['１２３４５６', '123456'],
    ['1234567', '123456'],
    ['12a', '12'],
    ['', ''],
  ])('%j → %j', (raw, want) => {
    expect(normalizeCode(raw)).toBe(want);
  });

  it('honours another code length', () => {
    expect(normalizeCode('12 34 56 78', 8)).toBe('12345678');
  });
});

describe('isCompleteCode', () => {
  it('wants exactly the length in digits', () => {
    expect(isCompleteCode('123456')).toBe(true);
    expect(isCompleteCode('12345')).toBe(false);
    expect(isCompleteCode('12345a')).toBe(false);
  });
});
