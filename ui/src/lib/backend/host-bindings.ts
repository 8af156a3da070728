// Generated from src-tauri/src/desktop.rs by its `host_info_binding` test; do not edit.
import type { ErrorBody } from '../bindings';

export type HostInfo = { 
/**
 * Always `tauri`.
 */
kind: "tauri", 
/**
 * Locked-down sign-in-screen mode.
 */
kiosk: boolean, 
/**
 * BCP 47 locale of the operating system.
 */
locale: string, 
/**
 * Idle seconds before the wizard returns to the start, or `null`.
 */
idleTimeoutSecs: number | null, 
/**
 * Set when the app can't work (bad managed config); the wizard shows it instead.
 */
problem: ErrorBody | null, };
