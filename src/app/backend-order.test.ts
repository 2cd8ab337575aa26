import { describe, expect, it } from 'vitest';
import { backendOrder } from './backend-order';

describe('backend order', () => {
  it('WebGPU first by default', () => {
    expect(backendOrder('')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });
  it('a remembered or requested backend goes first; unknown names are ignored', () => {
    expect(backendOrder('', { getItem: () => 'wasm' })).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    expect(backendOrder('?backend=cpu', { getItem: () => 'wasm' })).toEqual(['cpu', 'webgpu', 'webgl', 'wasm']);
    expect(backendOrder('?backend=cuda')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });
});
