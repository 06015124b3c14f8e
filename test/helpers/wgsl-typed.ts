// A typed translation of the project's flat elementwise WGSL bodies to JavaScript, faithful to WGSL's number
// types: every f32 result goes through Math.fround, i32 arithmetic wraps as 32-bit two's complement (Math.imul,
// | 0, truncating division) and u32 as unsigned (>>> 0, >>> for shifts). So a test can see what the GPU sees:
// f32 rounding of sums and products, an index past 2^24 that only integer arithmetic keeps exact, hash bits.
// The subset: helper fns with typed parameters, fn main(index : i32), let/var, assignment, if/else, for,
// return, setOutputAtIndex, calls of the builtins below, indexing of f32 input arrays and uniforms.

export type ScalarType = 'i32' | 'u32' | 'f32' | 'bool';
/** Literals and uniforms without a declared type take the type of what they meet, as WGSL's abstract numbers do. */
type ExprType = ScalarType | 'int' | 'float';
interface Expr {
  js: string;
  type: ExprType;
}

const TOKEN = /\s*(0x[0-9a-fA-F]+[ui]?|\d+\.\d*(?:e[+-]?\d+)?f?|\d+e[+-]?\d+f?|\d+[uif]?|[A-Za-z_]\w*|<=|>=|==|!=|&&|\|\||<<|>>|->|[-+*/%^&|<>!=()[\]{},;:.])/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  const clean = src.replace(/\/\/.*$/gm, '');
  TOKEN.lastIndex = 0;
  for (;;) {
    const start = TOKEN.lastIndex;
    if (/^\s*$/.test(clean.slice(start))) return out;
    const m = TOKEN.exec(clean);
    if (!m) throw new Error(`wgsl-typed: cannot read ${JSON.stringify(clean.slice(start, start + 30))}`);
    out.push(m[1]);
  }
}

/** The concrete type of an abstract one (an int literal alone is i32, a float literal f32). */
const concrete = (t: ExprType): ScalarType => (t === 'int' ? 'i32' : t === 'float' ? 'f32' : t);

/** The type of a binary operation's operands: a concrete type wins over an abstract one, float over int. */
function unify(a: ExprType, b: ExprType, op: string): ExprType {
  if (a === b) return a;
  const abstract = (t: ExprType) => t === 'int' || t === 'float';
  if (abstract(a) && !abstract(b)) return b;
  if (abstract(b) && !abstract(a)) return a;
  if (abstract(a) && abstract(b)) return 'float';
  // WGSL allows u32 shift amounts with i32 values; the value's type is the result's.
  if (op === '<<' || op === '>>') return a;
  throw new Error(`wgsl-typed: '${op}' of ${a} and ${b}`);
}

/** One arithmetic or bitwise operation at type t, rounded or wrapped as WGSL does. */
function arith(op: string, a: string, b: string, t: ExprType): string {
  const ct = concrete(t);
  if (ct === 'f32') {
    if (['&', '|', '^', '<<', '>>'].includes(op)) throw new Error(`wgsl-typed: '${op}' on f32`);
    return `Math.fround(${a} ${op} ${b})`;
  }
  if (ct === 'i32') {
    if (op === '*') return `Math.imul(${a}, ${b})`;
    if (op === '<<' || op === '>>') return `(${a} ${op} ${b})`;
    return `((${a} ${op} ${b}) | 0)`;
  }
  if (ct === 'u32') {
    if (op === '*') return `(Math.imul(${a}, ${b}) >>> 0)`;
    if (op === '>>') return `(${a} >>> ${b})`;
    return `((${a} ${op} ${b}) >>> 0)`;
  }
  throw new Error(`wgsl-typed: '${op}' on ${t}`);
}

const F32_BUILTINS: Record<string, string> = { sqrt: 'Math.sqrt', exp: 'Math.exp', log: 'Math.log', log2: 'Math.log2', abs: 'Math.abs', floor: 'Math.floor', ceil: 'Math.ceil' };

export interface TypedBody {
  /** JavaScript of `function (index) { … }` bound to the inputs, uniforms and out. */
  js: string;
}

/**
 * Translates a flat body. `inputs` names the f32 arrays; `uniformTypes` declares uniforms' types (as runFlat's
 * uniform tuples do); an undeclared uniform is abstract, like a literal (`size` is i32, as in the header).
 */
export function translateFlatWgsl(src: string, inputs: readonly string[], uniformTypes: Record<string, ScalarType> = {}): string {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (k = 0) => toks[pos + k];
  const next = () => toks[pos++];
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`wgsl-typed: expected '${t}', got '${got}' at token ${pos - 1}`);
  };
  const vars = new Map<string, ScalarType>();
  const fns = new Map<string, ScalarType>();
  const uniforms: Record<string, ScalarType> = { size: 'i32', ...uniformTypes };

  const coerce = (e: Expr, t: ScalarType): string => {
    if (e.type === 'float' && t === 'f32') return `Math.fround(${e.js})`;
    if (e.type === 'int' && t === 'f32') return `Math.fround(${e.js})`;
    if (e.type === 'int' && t === 'u32') return `((${e.js}) >>> 0)`;
    if (e.type === 'int' && t === 'i32') return `((${e.js}) | 0)`;
    if (concrete(e.type) !== t) throw new Error(`wgsl-typed: ${e.type} where ${t} is wanted`);
    return e.js;
  };

  function primary(): Expr {
    const t = next();
    if (t === '(') {
      const e = expr(0);
      expect(')');
      return { js: `(${e.js})`, type: e.type };
    }
    if (t === '-') {
      const e = unary();
      return { js: `(-${e.js})`, type: e.type };
    }
    if (t === '!') {
      const e = unary();
      return { js: `(!${e.js})`, type: 'bool' };
    }
    if (/^0x/.test(t)) {
      const type: ExprType = t.endsWith('u') ? 'u32' : t.endsWith('i') ? 'i32' : 'int';
      return { js: t.replace(/[ui]$/, ''), type };
    }
    if (/^\d/.test(t)) {
      if (/[.e]/.test(t) || t.endsWith('f')) {
        const v = Number(t.replace(/f$/, ''));
        return { js: t.endsWith('f') ? String(Math.fround(v)) : String(v), type: t.endsWith('f') ? 'f32' : 'float' };
      }
      const type: ExprType = t.endsWith('u') ? 'u32' : t.endsWith('i') ? 'i32' : 'int';
      return { js: t.replace(/[ui]$/, ''), type };
    }
    if (t === 'true' || t === 'false') return { js: t, type: 'bool' };
    if (t === 'uniforms') {
      expect('.');
      const name = next();
      return { js: `uniforms.${name}`, type: uniforms[name] ?? 'int' };
    }
    if (peek() === '(') {
      next();
      const args: Expr[] = [];
      while (peek() !== ')') {
        args.push(expr(0));
        if (peek() === ',') next();
      }
      expect(')');
      return call(t, args);
    }
    if (peek() === '[') {
      next();
      const i = expr(0);
      expect(']');
      if (!inputs.includes(t)) throw new Error(`wgsl-typed: ${t} is not an input array`);
      return { js: `${t}[${coerce(i, concrete(i.type) === 'u32' ? 'u32' : 'i32')}]`, type: 'f32' };
    }
    const type = vars.get(t);
    if (!type) throw new Error(`wgsl-typed: unknown name '${t}'`);
    return { js: t, type };
  }

  function call(name: string, args: Expr[]): Expr {
    const [a, b, c] = args;
    switch (name) {
      case 'u32':
        return { js: concrete(a.type) === 'f32' ? `(Math.trunc(${a.js}) >>> 0)` : `((${a.js}) >>> 0)`, type: 'u32' };
      case 'i32':
        return { js: concrete(a.type) === 'f32' ? `(Math.trunc(${a.js}) | 0)` : `((${a.js}) | 0)`, type: 'i32' };
      case 'f32':
        return { js: `Math.fround(${a.js})`, type: 'f32' };
      case 'select': {
        const t = unify(a.type, b.type, 'select');
        return { js: `(${c.js} ? ${b.js} : ${a.js})`, type: t };
      }
      case 'min':
      case 'max':
        return { js: `Math.${name}(${a.js}, ${b.js})`, type: unify(a.type, b.type, name) };
      case 'fma':
        // WGSL's fma may round once or twice; one rounding of the exact a·b + c is the fused result.
        return { js: `Math.fround(${a.js} * ${b.js} + ${c.js})`, type: 'f32' };
      default:
        if (F32_BUILTINS[name]) return { js: `Math.fround(${F32_BUILTINS[name]}(${args.map((x) => coerce(x, 'f32')).join(', ')}))`, type: 'f32' };
        if (fns.has(name)) return { js: `${name}(${args.map((x) => x.js).join(', ')})`, type: fns.get(name)! };
        throw new Error(`wgsl-typed: unknown function '${name}'`);
    }
  }

  const unary = (): Expr => primary();
  const PREC: Record<string, number> = { '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10 };

  function expr(min: number): Expr {
    let left = unary();
    for (;;) {
      const op = peek();
      const p = PREC[op];
      if (p === undefined || p < min) return left;
      next();
      const right = expr(p + 1);
      if (op === '&&' || op === '||') left = { js: `(${left.js} ${op} ${right.js})`, type: 'bool' };
      else if (PREC[op] === 6 || PREC[op] === 7) {
        const t = unify(left.type, right.type, op);
        left = { js: `(${left.js} ${op === '==' ? '===' : op === '!=' ? '!==' : op} ${right.js})`, type: t === 'bool' ? 'bool' : 'bool' };
      } else {
        const t = op === '<<' || op === '>>' ? left.type : unify(left.type, right.type, op);
        left = { js: arith(op, left.js, right.js, t), type: t };
      }
    }
  }

  function block(): string {
    expect('{');
    const out: string[] = [];
    while (peek() !== '}') out.push(statement());
    expect('}');
    return `{\n${out.join('\n')}\n}`;
  }

  function statement(): string {
    const t = peek();
    if (t === 'let' || t === 'var') {
      next();
      const name = next();
      let declared: ScalarType | undefined;
      if (peek() === ':') {
        next();
        declared = next() as ScalarType;
      }
      expect('=');
      const e = expr(0);
      expect(';');
      const type = declared ?? concrete(e.type);
      vars.set(name, type);
      return `${t === 'let' ? 'const' : 'let'} ${name} = ${coerce(e, type)};`;
    }
    if (t === 'if') {
      next();
      expect('(');
      const c = expr(0);
      expect(')');
      let js = `if (${c.js}) ${block()}`;
      if (peek() === 'else') {
        next();
        js += ` else ${peek() === 'if' ? statement() : block()}`;
      }
      return js;
    }
    if (t === 'for') {
      next();
      expect('(');
      const init = statement(); // ends with ';'
      const c = expr(0);
      expect(';');
      const stepName = next();
      expect('=');
      const step = expr(0);
      expect(')');
      return `for (${init} ${c.js}; ${stepName} = ${coerce(step, vars.get(stepName)!)}) ${block()}`;
    }
    if (t === 'return') {
      next();
      const e = expr(0);
      expect(';');
      return `return ${e.js};`;
    }
    if (t === 'setOutputAtIndex') {
      next();
      expect('(');
      const i = expr(0);
      expect(',');
      const v = expr(0);
      expect(')');
      expect(';');
      return `out[${i.js}] = ${coerce(v, 'f32')};`;
    }
    // An assignment.
    const name = next();
    const type = vars.get(name);
    if (!type) throw new Error(`wgsl-typed: assignment to unknown '${name}'`);
    expect('=');
    const e = expr(0);
    expect(';');
    return `${name} = ${coerce(e, type)};`;
  }

  const parts: string[] = [];
  while (pos < toks.length) {
    expect('fn');
    const name = next();
    expect('(');
    const params: [string, ScalarType][] = [];
    while (peek() !== ')') {
      const p = next();
      expect(':');
      params.push([p, next() as ScalarType]);
      if (peek() === ',') next();
    }
    expect(')');
    let ret: ScalarType | undefined;
    if (peek() === '->') {
      next();
      ret = next() as ScalarType;
    }
    for (const [p, pt] of params) vars.set(p, pt);
    if (name !== 'main' && ret) fns.set(name, ret);
    const body = block();
    parts.push(name === 'main' ? `return function (${params.map((p) => p[0]).join(', ')}) ${body};` : `function ${name}(${params.map((p) => p[0]).join(', ')}) ${body}`);
  }
  return parts.join('\n');
}
