import { describe, expect, it } from 'vitest';
import { privateHost, urlProblem } from './webhooks.js';

describe('webhook endpoint URLs and the addresses they may not point at', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.0.1/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://127.0.0.1:8080/h',
    'http://[::1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://10.0.0.5/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://0.0.0.0/',
    'http://localhost:3000/',
    'http://0xa9fea9fe/',
    'http://2852039166/',
  ])('refuses %s unless private addresses are allowed', (url) => {
    expect(urlProblem(url)).toMatch(/loopback, private, link-local or metadata/);
    expect(urlProblem(url, { allowPrivate: true })).toBeUndefined();
  });

  it.each([
    'https://example.com/hooks',
    'http://8.8.8.8/',
    'http://172.32.0.1/',
    'http://[2001:db8::1]/',
    'http://169.255.0.1/',
  ])('accepts %s', (url) => {
    expect(urlProblem(url)).toBeUndefined();
  });

  it('reads hosts as the URL parser writes them', () => {
    expect(privateHost(new URL('http://[FD00:EC2:0::254]/').hostname)).toBe(true);
    expect(privateHost('example.localhost')).toBe(true);
    expect(privateHost('metadata.example.com')).toBe(false);
  });
});
