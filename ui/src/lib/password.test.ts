import { describe, expect, it } from 'vitest';
import type { PasswordRating, PolicySummary } from './bindings';
import { checklist, passwordLength, strengthLabelKey, violationText } from './password';

const policy: PolicySummary = {
  min_length: 8,
  max_length: 20,
  min_score: 3,
  required_classes: 0,
  history: 5,
  reject_user_names: true,
  banned_list: true,
};

function rating(rules: string[], score = 4): PasswordRating {
  return {
    acceptable: rules.length === 0,
    score,
    guesses_log10: 12,
    warning: null,
    suggestions: [],
    violations: rules.map((rule) => ({ rule, message: rule })),
  };
}

const states = (items: ReturnType<typeof checklist>): Record<string, string> =>
  Object.fromEntries(items.map((i) => [i.rule, i.state]));

describe('checklist', () => {
  it('lists only the rules the policy has, in a stable order', () => {
    expect(checklist(policy, '', null).map((i) => i.rule)).toEqual(['length', 'banned', 'contains_user_name', 'too_weak', 'in_history']);
    const all = { ...policy, required_classes: 3 };
    expect(checklist(all, '', null).map((i) => i.rule)).toContain('too_few_classes');
    const bare = { ...policy, min_score: 0, history: 0, reject_user_names: false, banned_list: false };
    expect(checklist(bare, '', null).map((i) => i.rule)).toEqual(['length']);
  });

  it('judges length here, at once, by characters', () => {
    expect(states(checklist(policy, 'short', null)).length).toBe('unmet');
    expect(states(checklist(policy, 'long enough', null)).length).toBe('met');
    expect(states(checklist(policy, 'x'.repeat(21), null)).length).toBe('unmet');
    // Eight emoji are eight characters, not sixteen UTF-16 units.
    expect(passwordLength('😀'.repeat(8))).toBe(8);
    expect(states(checklist(policy, '😀'.repeat(8), null)).length).toBe('met');
  });

  it('leaves the service rules unknown until rated', () => {
    const s = states(checklist(policy, 'something', null));
    expect(s.banned).toBe('unknown');
    expect(s.too_weak).toBe('unknown');
  });

  it('ticks rules the rating does not list as broken', () => {
    const s = states(checklist(policy, 'Contoso2026!', rating(['banned', 'too_weak'], 1)));
    expect(s).toMatchObject({ banned: 'unmet', too_weak: 'unmet', contains_user_name: 'met', length: 'met' });
  });

  it('shows a neutral list before anything is typed', () => {
    const s = states(checklist(policy, '', rating([])));
    expect(s).toMatchObject({ length: 'unknown', banned: 'unknown', too_weak: 'unknown', in_history: 'unknown' });
  });

  it('knows history only from a rejection', () => {
    expect(states(checklist(policy, 'plum-orbit', rating([]))).in_history).toBe('unknown');
    const rejected = [{ rule: 'in_history', message: '' }];
    expect(states(checklist(policy, 'plum-orbit', rating([]), rejected)).in_history).toBe('unmet');
  });

  it('names the strength the policy asks for', () => {
    const item = checklist(policy, '', null).find((i) => i.rule === 'too_weak');
    expect(item?.labelKey).toBe('strength.3');
  });
});

describe('strength and violations', () => {
  it('clamps the score to a label', () => {
    expect(strengthLabelKey(-1)).toBe('strength.0');
    expect(strengthLabelKey(2)).toBe('strength.2');
    expect(strengthLabelKey(9)).toBe('strength.4');
  });

  it('words known rules ourselves, with the policy numbers', () => {
    expect(violationText({ rule: 'too_short', message: 'x' }, policy)).toEqual({ key: 'violation.too_short', params: { min: 8 } });
    expect(violationText({ rule: 'in_history', message: 'x' }, policy)).toEqual({ key: 'violation.in_history', params: { count: 5 } });
    expect(violationText({ rule: 'ad_complexity', message: 'From the directory.' }, policy)).toBeNull();
  });
});
