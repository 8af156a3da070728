//! The new-password screen's logic without the screen: the policy as a checklist, the
//! strength label, and which rejected rules belong to which field.

import type { PasswordRating, PolicySummary, Violation } from './bindings';

/** Met, broken, or not known yet (no rating for this text, or a rule only the service checks). */
export type RuleState = 'met' | 'unmet' | 'unknown';

export interface RuleItem {
  /** The violation code this line stands for (`length` covers `too_short` and `too_long`). */
  rule: 'length' | 'banned' | 'contains_user_name' | 'too_weak' | 'too_few_classes' | 'in_history';
  /** Catalogue key of the line's text. */
  key: string;
  params: Record<string, number>;
  /** For the strength line: catalogue key of the score label it asks for. */
  labelKey?: string;
  state: RuleState;
}

/** Length as the service counts it: Unicode scalar values after NFKC. */
export function passwordLength(password: string): number {
  return [...password.normalize('NFKC')].length;
}

/**
 * The policy's rules for a candidate, in a stable order. Length is judged here, as the user
 * types; the rules that need the service (banned words, names, strength, classes) come from
 * `rating` when it is the rating of this very candidate, and are unknown otherwise. History
 * cannot be known before the service tries, unless a rejection said so.
 */
export function checklist(
  policy: PolicySummary,
  password: string,
  rating: PasswordRating | null,
  rejected: Violation[] = [],
): RuleItem[] {
  const len = passwordLength(password);
  const empty = password.length === 0;
  const broken = new Set([...(rating?.violations ?? []), ...rejected].map((v) => v.rule));
  // Nothing typed yet: a neutral list, not a wall of crosses.
  const fromRating = (rule: string): RuleState =>
    empty ? 'unknown' : broken.has(rule) ? 'unmet' : rating ? 'met' : 'unknown';

  const items: RuleItem[] = [
    {
      rule: 'length',
      key: 'rule.length',
      params: { min: policy.min_length, max: policy.max_length },
      state: empty ? 'unknown' : len >= policy.min_length && len <= policy.max_length ? 'met' : 'unmet',
    },
  ];
  if (policy.required_classes > 0) {
    items.push({
      rule: 'too_few_classes',
      key: 'rule.classes',
      params: { count: policy.required_classes },
      state: fromRating('too_few_classes'),
    });
  }
  if (policy.banned_list) {
    items.push({ rule: 'banned', key: 'rule.banned', params: {}, state: fromRating('banned') });
  }
  if (policy.reject_user_names) {
    items.push({
      rule: 'contains_user_name',
      key: 'rule.userName',
      params: {},
      state: fromRating('contains_user_name'),
    });
  }
  if (policy.min_score > 0) {
    items.push({
      rule: 'too_weak',
      key: 'rule.strength',
      params: {},
      labelKey: strengthLabelKey(policy.min_score),
      state: fromRating('too_weak'),
    });
  }
  if (policy.history > 0) {
    items.push({
      rule: 'in_history',
      key: 'rule.history',
      params: { count: policy.history },
      state: broken.has('in_history') ? 'unmet' : 'unknown',
    });
  }
  return items;
}

/** Catalogue key of the label for a zxcvbn score (0–4), so the meter never relies on colour. */
export function strengthLabelKey(score: number): string {
  const clamped = Math.max(0, Math.min(4, Math.round(score)));
  return `strength.${clamped}`;
}

/**
 * Catalogue key and parameters for one violation, from our own catalogue where we know the
 * rule (with numbers from the policy), or null to fall back to the service's sentence.
 */
export function violationText(
  v: Violation,
  policy: PolicySummary,
): { key: string; params: Record<string, number> } | null {
  switch (v.rule) {
    case 'too_short':
      return { key: 'violation.too_short', params: { min: policy.min_length } };
    case 'too_long':
      return { key: 'violation.too_long', params: { max: policy.max_length } };
    case 'banned':
      return { key: 'violation.banned', params: {} };
    case 'contains_user_name':
      return { key: 'violation.contains_user_name', params: {} };
    case 'too_weak':
      return { key: 'violation.too_weak', params: {} };
    case 'too_few_classes':
      return { key: 'violation.too_few_classes', params: { count: policy.required_classes } };
    case 'in_history':
      return { key: 'violation.in_history', params: { count: policy.history } };
    case 'control_characters':
      return { key: 'violation.control_characters', params: {} };
    default:
      return null;
  }
}
