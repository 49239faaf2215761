/**
 * Request validation of the simulated RP API, with the limits of BankID RP API v6.0. The `details` of
 * the fields below are the ones BankID's test service answers with (`Invalid endUserIp`,
 * `Invalid userVisibleData`, `Incorrect personalNumber`, `Incorrect callInitiator`); the others are the
 * simulator's wording.
 */
import { isIP } from 'node:net';
import { isValidPersonalNumber } from './persons.ts';

export interface Requirement {
  pinCode?: boolean;
  mrtd?: boolean;
  cardReader?: 'class1' | 'class2';
  certificatePolicies?: string[];
  personalNumber?: string;
}

export interface StartRequest {
  endUserIp: string;
  requirement?: Requirement;
  userVisibleData?: string;
  userNonVisibleData?: string;
  userVisibleDataFormat?: string;
  returnUrl?: string;
  returnRisk?: boolean;
  web?: Record<string, string>;
  app?: Record<string, string>;
}

export interface PhoneStartRequest {
  personalNumber: string;
  callInitiator: 'user' | 'RP';
  requirement?: Omit<Requirement, 'mrtd' | 'personalNumber'>;
  userVisibleData?: string;
  userNonVisibleData?: string;
  userVisibleDataFormat?: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; details: string };

const USER_VISIBLE_MAX = 40_000;
const USER_NON_VISIBLE_MAX = 200_000;
const RETURN_URL_MAX = 512;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const POLICY = /^\d+(\.\d+)*(\.\*)?$/;

class Invalid extends Error {}

const fail = (details: string): never => {
  throw new Invalid(details);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalBoolean(obj: Record<string, unknown>, key: string, where: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(`Invalid ${where}${key}.`);
  return v as boolean;
}

/**
 * A base64 text field: 1 to `max` characters, the standard alphabet, padded; `utf8` when it must decode
 * to UTF-8 text. BankID answers every fault of such a field with the same details, `Invalid <field>`.
 */
function base64Text(v: unknown, name: string, max: number, utf8: boolean): string {
  const invalid = `Invalid ${name}`;
  if (typeof v !== 'string' || v.length === 0 || v.length > max || !BASE64.test(v)) return fail(invalid);
  if (utf8) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(v, 'base64'));
    } catch {
      fail(invalid);
    }
  }
  return v;
}

function requirement(v: unknown, phone: boolean): Requirement | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return fail('Invalid requirement.');
  const out: Requirement = {};
  const pinCode = optionalBoolean(v, 'pinCode', 'requirement.');
  if (pinCode !== undefined) out.pinCode = pinCode;
  if (v.cardReader !== undefined) {
    if (v.cardReader !== 'class1' && v.cardReader !== 'class2') fail('Invalid requirement.cardReader.');
    out.cardReader = v.cardReader as 'class1' | 'class2';
  }
  if (v.certificatePolicies !== undefined) {
    const list = v.certificatePolicies;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || !POLICY.test(p))) fail('Invalid requirement.certificatePolicies.');
    out.certificatePolicies = list as string[];
  }
  if (phone) {
    if (v.mrtd !== undefined || v.personalNumber !== undefined) fail('Invalid requirement for phone orders.');
    return out;
  }
  const mrtd = optionalBoolean(v, 'mrtd', 'requirement.');
  if (mrtd !== undefined) out.mrtd = mrtd;
  if (v.personalNumber !== undefined) {
    if (typeof v.personalNumber !== 'string' || !isValidPersonalNumber(v.personalNumber)) fail('Incorrect personalNumber');
    out.personalNumber = v.personalNumber as string;
  }
  return out;
}

function deviceData(v: unknown, name: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) return fail(`Invalid ${name}.`);
  return v as Record<string, string>;
}

function texts(body: Record<string, unknown>, required: boolean): Pick<StartRequest, 'userVisibleData' | 'userNonVisibleData' | 'userVisibleDataFormat'> {
  const out: Pick<StartRequest, 'userVisibleData' | 'userNonVisibleData' | 'userVisibleDataFormat'> = {};
  if (body.userVisibleData !== undefined || required) out.userVisibleData = base64Text(body.userVisibleData, 'userVisibleData', USER_VISIBLE_MAX, true);
  if (body.userNonVisibleData !== undefined) out.userNonVisibleData = base64Text(body.userNonVisibleData, 'userNonVisibleData', USER_NON_VISIBLE_MAX, false);
  if (body.userVisibleDataFormat !== undefined) {
    if (body.userVisibleDataFormat !== 'simpleMarkdownV1') fail('Invalid userVisibleDataFormat');
    out.userVisibleDataFormat = 'simpleMarkdownV1';
  }
  return out;
}

function guard<T>(fn: () => T): Validated<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, details: err.message };
    throw err;
  }
}

export function validateStart(body: Record<string, unknown>, kind: 'auth' | 'sign'): Validated<StartRequest> {
  return guard(() => {
    const endUserIp = body.endUserIp;
    if (typeof endUserIp !== 'string' || isIP(endUserIp) === 0) fail('Invalid endUserIp');
    const out: StartRequest = { endUserIp: endUserIp as string, ...texts(body, kind === 'sign') };
    const req = requirement(body.requirement, false);
    if (req) out.requirement = req;
    if (body.returnUrl !== undefined) {
      const url = body.returnUrl;
      if (typeof url !== 'string' || url.length === 0 || url.length > RETURN_URL_MAX || !URL.canParse(url)) fail('Invalid returnUrl.');
      out.returnUrl = url as string;
    }
    const returnRisk = optionalBoolean(body, 'returnRisk', '');
    if (returnRisk !== undefined) out.returnRisk = returnRisk;
    const web = deviceData(body.web, 'web');
    if (web) out.web = web;
    const app = deviceData(body.app, 'app');
    if (app) out.app = app;
    if (web && app) fail('Only one of web and app may be given.');
    return out;
  });
}

export function validatePhoneStart(body: Record<string, unknown>, kind: 'auth' | 'sign'): Validated<PhoneStartRequest> {
  return guard(() => {
    const pnr = body.personalNumber;
    if (typeof pnr !== 'string' || !isValidPersonalNumber(pnr)) fail('Incorrect personalNumber');
    if (body.callInitiator !== 'user' && body.callInitiator !== 'RP') fail('Incorrect callInitiator');
    const out: PhoneStartRequest = {
      personalNumber: pnr as string,
      callInitiator: body.callInitiator as 'user' | 'RP',
      ...texts(body, kind === 'sign'),
    };
    const req = requirement(body.requirement, true);
    if (req) out.requirement = req;
    return out;
  });
}

export function validateOrderRef(body: Record<string, unknown>): Validated<string> {
  return guard(() => {
    const ref = body.orderRef;
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 100) fail('Invalid orderRef.');
    return ref as string;
  });
}
