//! Hands the one Wizard to every screen without threading it through props.

import { getContext, setContext } from 'svelte';
import type { Wizard } from './wizard.svelte';

const KEY = Symbol('wizard');

export function provideWizard(wizard: Wizard): Wizard {
  return setContext(KEY, wizard);
}

export function useWizard(): Wizard {
  const wizard = getContext<Wizard | undefined>(KEY);
  if (!wizard) throw new Error('useWizard() outside <App>');
  return wizard;
}
