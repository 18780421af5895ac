// The lessons' data: users with deterministic ids. The same (externalId, name) always gets the same
// UUIDv5, and page N always yields the same 10 fake users, on every run and every machine.
import { Faker, en } from '@faker-js/faker';
import { v5 as uuidv5 } from 'uuid';

export interface User {
  id: string;
  externalId: string;
  name: string;
}

/** Fixed namespace for user ids (a UUIDv4 chosen once for this workbook). */
export const USER_NAMESPACE = '6f1c2a4e-8d3b-4f7a-9c5e-2b8d1e0f7a63';

export function userId(externalId: string, name: string): string {
  return uuidv5(`${externalId}:${name}`, USER_NAMESPACE);
}

export function makeUser(externalId: string, name: string): User {
  return { id: userId(externalId, name), externalId, name };
}

const faker = new Faker({ locale: [en] });

/** The users of page `page`: the generator is seeded by the page, so a page never changes. */
export function fakeUsers(page: number, size = 10): User[] {
  faker.seed(page);
  return Array.from({ length: size }, () => makeUser(faker.string.numeric(10), faker.person.fullName()));
}
