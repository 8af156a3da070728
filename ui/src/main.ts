// Entry point: pick the host, then mount the wizard.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { createBackend } from './lib/backend';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app');

void createBackend().then((backend) => mount(App, { target, props: { backend } }));
