// Promise 9 (nothing secret is printed), in every form a connection string takes: each row gives a
// string, the secret in it, and what must survive the masking (so that a redaction which blanks
// everything does not pass either).
import { describe, expect, it } from 'vitest';
import { passwordsIn, redactText, redactUrl, rememberSecret } from '../lib/redact.js';

interface Row { form: string; input: string; secret: string; keeps: string[]; exact?: string }

const FORMS: Row[] = [
  { form: 'URL userinfo', input: 'postgres://u:hunter2x@h:5433/db', secret: 'hunter2x', keeps: ['postgres://u:', '@h:5433/db'], exact: 'postgres://u:***@h:5433/db' },
  { form: 'postgresql:// scheme', input: 'postgresql://admin:S3cretPw@db.example.com/app', secret: 'S3cretPw', keeps: ['postgresql://admin:***@db.example.com/app'] },
  { form: 'percent-encoded @ in the password', input: 'postgres://u:p%40ssw0rd@h/db?sslmode=disable', secret: 'p%40ssw0rd', keeps: ['@h/db?sslmode=disable'], exact: 'postgres://u:***@h/db?sslmode=disable' },
  { form: 'unencoded # in the password', input: 'postgres://u:pa#ss9word@h/db', secret: 'ss9word', keeps: ['postgres://u:***@h/db'] },
  { form: 'unencoded @ and # in the password', input: 'postgres://u:p@ss#1word@h:5432/db', secret: 'ss#1word', keeps: ['postgres://u:***@h:5432/db'] },
  { form: 'unencoded / and ? in the password', input: 'postgres://u:a/b?cdefgh@h/db', secret: 'b?cdefgh', keeps: ['postgres://u:***@h/db'] },
  { form: '?password= in the query', input: 'postgres://u@h/db?password=qwerty99&sslmode=require', secret: 'qwerty99', keeps: ['postgres://u@h/db?password=***&sslmode=require'] },
  { form: '&pass= in the query', input: 'postgresql://h/db?user=u&pass=zxcvbn77', secret: 'zxcvbn77', keeps: ['user=u&pass=***'] },
  { form: 'both userinfo and ?password=', input: 'postgres://u:first111@h/db?password=second22', secret: 'second22', keeps: ['postgres://u:***@h/db?password=***'] },
  { form: 'libpq key=value, bare', input: 'host=h port=5432 user=u password=plainPw1 dbname=d', secret: 'plainPw1', keeps: ['host=h port=5432 user=u password=*** dbname=d'] },
  { form: 'libpq key=value, quoted with a space', input: "host=h password='two words' dbname=d", secret: 'two words', keeps: ['host=h password=*** dbname=d'] },
  { form: "libpq key=value, quoted with \\'", input: "password='it\\'s mine' host=h", secret: 's mine', keeps: ['password=*** host=h'] },
  { form: 'libpq key=value, spaces around =', input: 'user=u password = spacedPw host=h', secret: 'spacedPw', keeps: ['password = *** host=h'] },
  { form: 'ADO style Password=...;', input: 'Server=h;User Id=u;Password=AdoSecret9;Database=d', secret: 'AdoSecret9', keeps: ['Password=***;Database=d'] },
  { form: 'JSON "password"', input: '{"host":"h","password":"json\\"pw42","port":5432}', secret: 'pw42', keeps: ['"password":"***"', '"port":5432'] },
  { form: 'no password: unchanged', input: 'postgres://u@h:5432/db?sslmode=disable', secret: '\u0000none', keeps: [], exact: 'postgres://u@h:5432/db?sslmode=disable' },
];

describe('redaction: one function for every form of connection string', () => {
  it(`the table has at least 10 forms with a secret (it has ${FORMS.length})`, () => {
    expect(FORMS.filter((f) => !f.secret.startsWith('\u0000')).length).toBeGreaterThanOrEqual(10);
  });

  for (const row of FORMS) {
    it(`${row.form}: ${row.input}`, () => {
      for (const out of [redactUrl(row.input), redactText(row.input), redactText(`FAILED: cannot use ${row.input} (ECONNREFUSED)`)]) {
        expect(out).not.toContain(row.secret);
        for (const k of row.keeps) expect(out).toContain(k);
      }
      if (row.exact) expect(redactUrl(row.input)).toBe(row.exact);
    });
  }

  it('in running text, every URL is masked and the words around it stay', () => {
    const text = 'tried postgres://a:alphaPw1@h1/db then postgresql://b:beta#Pw2@h2/db, and gave up';
    expect(redactText(text)).toBe('tried postgres://a:***@h1/db then postgresql://b:***@h2/db, and gave up');
  });

  it('a secret this process was told of is masked wherever it shows up, decoded too', () => {
    const url = 'postgres://u:Qz%23rememberMe@h/db';
    expect(passwordsIn(url)).toEqual(['Qz%23rememberMe', 'Qz#rememberMe']);
    expect(redactText('the server said: password "Qz#rememberMe" is wrong')).toContain('Qz#rememberMe');
    rememberSecret(url);
    expect(redactText('the server said: password "Qz#rememberMe" is wrong')).toBe('the server said: password "***" is wrong');
    expect(passwordsIn("host=h password='a b c d'")).toEqual(['a b c d']);
  });
});
