// A typed translation of the project's WGSL to JavaScript, faithful to WGSL's number types: every f32 result
// goes through Math.fround (arithmetic, builtins, loads, stores, vector components, workgroup memory), i32
// arithmetic wraps as 32-bit two's complement (Math.imul, | 0, truncating division) and u32 as unsigned
// (>>> 0, >>> for shifts). So a test sees what the GPU computes, not what float64 would: f32 rounding of sums
// and products, an index past 2^24 that only integer arithmetic keeps exact, hash bits that wrap.
// Three entry points over one parser:
//   translateFlatWgsl       helper fns, then fn main(index : i32) { … setOutputAtIndex(index, expr); }
//   translateWorkgroupWgsl  var<workgroup> arrays, helper fns, fn main() placed by localId / globalId /
//                           workgroupId / numWorkgroups, workgroupBarrier() as a yield of a generator
//   translateWgslStatements a statement list (an element body) over declared arrays, structs and locals
// The subset: let/var (typed or inferred), assignment to locals, array elements and vec4 components, if/else,
// for, return, bare blocks; scalars i32/u32/f32/bool and vec4<f32> (values as 4-element arrays, never mutated:
// a component store copies); calls of the builtins below (clamp of scalars among them) and of the shader's own fns.
// Limits: an operation is rounded once from its float64 result, so fma and dot are modelled as one rounding
// per product-add (a GPU may round twice; both are within WGSL's accuracy rules), and exp/log/… are the
// correctly rounded value (a GPU's are within a few ulp of it).

export type ScalarType = 'i32' | 'u32' | 'f32' | 'bool';
/** What a value can be: scalars, vec4<f32>, and the vec3<u32> builtins (localId, …; only .x/.y/.z are read). */
export type ValueType = ScalarType | 'vec4f' | 'vec3u';
/** Element types of arrays: storage buffers, the output, workgroup memory. */
export type ArrayType = 'f32' | 'i32' | 'u32' | 'vec4f';
/** Literals (and undeclared flat uniforms) take the type of what they meet, as WGSL's abstract numbers do. */
type ExprType = ValueType | 'int' | 'float';
interface Expr {
  js: string;
  type: ExprType;
  /** The value of a numeric literal (folded at translation time). */
  value?: number;
}

/** What a translated shader can name besides its own declarations. */
export interface WgslBindings {
  /** Arrays by name: the inputs, and (workgroup shaders) `result`. */
  arrays: Record<string, ArrayType>;
  /** Structs of scalars by name: `uniforms`, or the AdamW body's `k`. */
  structs: Record<string, Record<string, ScalarType>>;
  /** A member of `uniforms` not declared is abstract (flat bodies, as before); otherwise an error. */
  abstractUniforms?: boolean;
  /** Locals in scope from the start (a statement list's `i`). */
  locals?: Record<string, ValueType>;
}

const TOKEN = /\s*(0x[0-9a-fA-F]+[ui]?|\d+\.\d*(?:e[+-]?\d+)?f?|\.\d+(?:e[+-]?\d+)?f?|\d+e[+-]?\d+f?|\d+[uif]?|[A-Za-z_]\w*|<=|>=|==|!=|&&|\|\||<<|>>|->|[-+*/%^&|<>!=()[\]{},;:.])/y;

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

/** The JavaScript every translation runs with: rounding, conversions and vec4<f32> operations. */
export const RUNTIME = `
const F = Math.fround;
const __Z4 = Object.freeze([0, 0, 0, 0]);
const __vec4 = (a, b, c, d) => [F(a), F(b), F(c), F(d)];
const __splat = (x) => { const v = F(x); return [v, v, v, v]; };
const __fma4 = (a, b, c) => [F(a[0] * b[0] + c[0]), F(a[1] * b[1] + c[1]), F(a[2] * b[2] + c[2]), F(a[3] * b[3] + c[3])];
const __dot4 = (a, b) => F(F(F(F(a[0] * b[0]) + F(a[1] * b[1])) + F(a[2] * b[2])) + F(a[3] * b[3]));
const __c = (x, i) => (Array.isArray(x) ? x[i] : x);
const __add4 = (a, b) => [0, 1, 2, 3].map((i) => F(__c(a, i) + __c(b, i)));
const __sub4 = (a, b) => [0, 1, 2, 3].map((i) => F(__c(a, i) - __c(b, i)));
const __mul4 = (a, b) => [0, 1, 2, 3].map((i) => F(__c(a, i) * __c(b, i)));
const __div4 = (a, b) => [0, 1, 2, 3].map((i) => F(__c(a, i) / __c(b, i)));
const __neg4 = (a) => a.map((x) => -x);
const __setc = (v, i, x) => { const w = v.slice(); w[i] = x; return w; };
// Integer division truncates; by zero it gives the dividend, as WGSL defines it (and i32 min / -1 gives i32 min).
const __idiv = (a, b) => (b === 0 ? a : (a / b) | 0);
const __udiv = (a, b) => (b === 0 ? a : (a / b) >>> 0);
// f32 → integer: truncation toward zero, saturated at the type's range (NaN → 0).
const __f2i = (x) => (x >= 2147483647 ? 2147483647 : x <= -2147483648 ? -2147483648 : Math.trunc(x) | 0);
const __f2u = (x) => (x >= 4294967295 ? 4294967295 : x > 0 ? Math.trunc(x) >>> 0 : 0);
`;

const JS_RESERVED = new Set(['arguments', 'await', 'case', 'catch', 'class', 'const', 'debugger', 'default', 'delete', 'do', 'enum', 'eval', 'export', 'extends', 'finally', 'function', 'import', 'in', 'instanceof', 'new', 'null', 'super', 'switch', 'this', 'throw', 'try', 'typeof', 'undefined', 'void', 'while', 'with', 'yield', 'F', 'Math', 'Object', 'Array', 'out']);
/** A WGSL identifier as a JavaScript one that cannot collide with the runtime or a reserved word. */
const jsName = (n: string) => (JS_RESERVED.has(n) ? `w_${n}` : n);

/** The concrete type of an abstract one (an int literal alone is i32, a float literal f32). */
const concrete = (t: ExprType): ValueType => (t === 'int' ? 'i32' : t === 'float' ? 'f32' : t);
const isAbstract = (t: ExprType) => t === 'int' || t === 'float';

/** The type of a binary operation's operands: a concrete type wins over an abstract one, float over int. */
function unify(a: ExprType, b: ExprType, op: string): ExprType {
  if (a === b) return a;
  if (isAbstract(a) && !isAbstract(b)) return b;
  if (isAbstract(b) && !isAbstract(a)) return a;
  if (isAbstract(a) && isAbstract(b)) return 'float';
  // vec4<f32> with a scalar f32 (or an abstract number): componentwise.
  if ((a === 'vec4f' && b === 'f32') || (a === 'f32' && b === 'vec4f')) return 'vec4f';
  throw new Error(`wgsl-typed: '${op}' of ${a} and ${b}`);
}

const NUMERIC = /^-?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|Infinity)$/;

/** One arithmetic or bitwise operation at type t, rounded or wrapped as WGSL does. */
function arith(op: string, a: string, b: string, t: ExprType): string {
  const ct = concrete(t);
  if (ct === 'vec4f') {
    const fn = { '+': '__add4', '-': '__sub4', '*': '__mul4', '/': '__div4' }[op];
    if (!fn) throw new Error(`wgsl-typed: '${op}' on vec4<f32>`);
    return `${fn}(${a}, ${b})`;
  }
  if (ct === 'f32') {
    if (['&', '|', '^', '<<', '>>'].includes(op)) throw new Error(`wgsl-typed: '${op}' on f32`);
    return `F(${a} ${op} ${b})`;
  }
  if (ct === 'i32') {
    if (op === '*') return `Math.imul(${a}, ${b})`;
    if (op === '/') return `__idiv(${a}, ${b})`;
    if (op === '<<' || op === '>>') return `(${a} ${op} ${b})`;
    return `((${a} ${op} ${b}) | 0)`;
  }
  if (ct === 'u32') {
    if (op === '*') return `(Math.imul(${a}, ${b}) >>> 0)`;
    if (op === '/') return `__udiv(${a}, ${b})`;
    if (op === '>>') return `(${a} >>> ${b})`;
    return `((${a} ${op} ${b}) >>> 0)`;
  }
  throw new Error(`wgsl-typed: '${op}' on ${t}`);
}

/** f32 builtins of one or two arguments, each result rounded to f32. */
const F32_BUILTINS: Record<string, (args: string[]) => string> = {
  sqrt: ([x]) => `Math.sqrt(${x})`,
  inverseSqrt: ([x]) => `1 / Math.sqrt(${x})`,
  exp: ([x]) => `Math.exp(${x})`,
  exp2: ([x]) => `2 ** ${x}`,
  log: ([x]) => `Math.log(${x})`,
  log2: ([x]) => `Math.log2(${x})`,
  abs: ([x]) => `Math.abs(${x})`,
  floor: ([x]) => `Math.floor(${x})`,
  ceil: ([x]) => `Math.ceil(${x})`,
  tanh: ([x]) => `Math.tanh(${x})`,
  pow: ([x, y]) => `${x} ** ${y}`,
};

interface FnSig {
  params: ValueType[];
  ret?: ValueType;
}

interface Parsed {
  /** `const name = …;` for each var<workgroup> declaration. */
  shared: string[];
  /** The shader's own helper fns, as JavaScript functions. */
  helpers: string[];
  /** main as a JavaScript function (or generator) expression. */
  main: string;
}

/** The parser: one instance per source, over the names the bindings declare. */
class Translator {
  private toks: string[];
  private pos = 0;
  private scopes: Map<string, ValueType>[] = [new Map()];
  private fns = new Map<string, FnSig>();
  private workgroupArrays = new Map<string, ArrayType>();
  /** Whether the function being translated is a generator (workgroup main): barriers become yields. */
  private inGenerator = false;

  constructor(
    src: string,
    private readonly b: WgslBindings,
  ) {
    this.toks = tokenize(src);
    for (const [n, t] of Object.entries(b.locals ?? {})) this.scopes[0].set(n, t);
  }

  private peek(k = 0): string | undefined {
    return this.toks[this.pos + k];
  }
  private next(): string {
    const t = this.toks[this.pos++];
    if (t === undefined) throw new Error('wgsl-typed: unexpected end of the source');
    return t;
  }
  private expect(t: string): void {
    const got = this.next();
    if (got !== t) throw new Error(`wgsl-typed: expected '${t}', got '${got}' at token ${this.pos - 1} (…${this.toks.slice(Math.max(0, this.pos - 8), this.pos).join(' ')})`);
  }
  private atEnd(): boolean {
    return this.pos >= this.toks.length;
  }

  private lookup(name: string): ValueType | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const t = this.scopes[i].get(name);
      if (t) return t;
    }
    return undefined;
  }
  private declare(name: string, t: ValueType): void {
    this.scopes[this.scopes.length - 1].set(name, t);
  }
  private arrayType(name: string): ArrayType | undefined {
    return this.workgroupArrays.get(name) ?? this.b.arrays[name];
  }

  /** A type: i32, u32, f32, bool, vec4<f32>, or array<T, N> (returned as [element, length]). */
  private type(): ValueType {
    const t = this.next();
    if (t === 'vec4') {
      this.expect('<');
      this.expect('f32');
      this.closeAngle();
      return 'vec4f';
    }
    if (t === 'vec3') {
      this.expect('<');
      this.expect('u32');
      this.closeAngle();
      return 'vec3u';
    }
    if (!['i32', 'u32', 'f32', 'bool'].includes(t)) throw new Error(`wgsl-typed: unsupported type '${t}'`);
    return t as ScalarType;
  }
  /** A '>' closing a template, also the first half of a '>>' token. */
  private closeAngle(): void {
    if (this.peek() === '>>') {
      this.toks[this.pos] = '>';
      return;
    }
    this.expect('>');
  }

  /** An expression coerced to type t: abstract numbers become t (literals folded), others must already be t. */
  coerce(e: Expr, t: ValueType): string {
    if (e.type === t) return e.js;
    if (isAbstract(e.type)) {
      if (t === 'f32' || t === 'vec4f') {
        const v = e.value !== undefined ? String(Math.fround(e.value)) : `F(${e.js})`;
        return t === 'vec4f' ? `__splat(${v})` : v;
      }
      if (e.type === 'float') throw new Error(`wgsl-typed: a float (${e.js}) where ${t} is wanted`);
      if (t === 'u32') return e.value !== undefined ? String(e.value >>> 0) : `((${e.js}) >>> 0)`;
      if (t === 'i32') return e.value !== undefined ? String(e.value | 0) : `((${e.js}) | 0)`;
    }
    if (e.type === 'f32' && t === 'vec4f') return `__splat(${e.js})`;
    throw new Error(`wgsl-typed: ${e.type} where ${t} is wanted (${e.js})`);
  }

  private literal(t: string): Expr {
    if (/^0x/.test(t)) {
      const type: ExprType = t.endsWith('u') ? 'u32' : t.endsWith('i') ? 'i32' : 'int';
      const v = Number(t.replace(/[ui]$/, ''));
      return { js: String(v), type, value: v };
    }
    if (/[.e]/.test(t) || t.endsWith('f')) {
      const v = Number(t.replace(/f$/, ''));
      if (t.endsWith('f')) return { js: String(Math.fround(v)), type: 'f32', value: Math.fround(v) };
      return { js: String(v), type: 'float', value: v };
    }
    const type: ExprType = t.endsWith('u') ? 'u32' : t.endsWith('i') ? 'i32' : 'int';
    const v = Number(t.replace(/[ui]$/, ''));
    return { js: String(v), type, value: v };
  }

  private primary(): Expr {
    const t = this.next();
    let e: Expr;
    if (t === '(') {
      const inner = this.expr(0);
      this.expect(')');
      e = { js: `(${inner.js})`, type: inner.type, value: inner.value };
    } else if (t === '-') {
      const x = this.primary();
      const ct = x.type;
      if (x.value !== undefined) e = { js: String(-x.value), type: ct, value: -x.value };
      else if (ct === 'vec4f') e = { js: `__neg4(${x.js})`, type: ct };
      else if (ct === 'i32') e = { js: `(-${x.js} | 0)`, type: ct };
      else if (ct === 'u32') e = { js: `(-${x.js} >>> 0)`, type: ct };
      else e = { js: `(-${x.js})`, type: ct };
    } else if (t === '!') {
      const x = this.primary();
      e = { js: `(!${x.js})`, type: 'bool' };
    } else if (/^[\d.]/.test(t)) {
      e = this.literal(t);
    } else if (t === 'true' || t === 'false') {
      e = { js: t, type: 'bool' };
    } else if (t === 'vec4') {
      this.expect('<');
      this.expect('f32');
      this.closeAngle();
      const args = this.args();
      if (args.length === 1) e = { js: `__splat(${this.coerce(args[0], 'f32')})`, type: 'vec4f' };
      else if (args.length === 4) e = { js: `[${args.map((a) => this.coerce(a, 'f32')).join(', ')}]`, type: 'vec4f' };
      else throw new Error(`wgsl-typed: vec4<f32> of ${args.length} arguments`);
    } else if (this.peek() === '(') {
      e = this.call(t, this.args());
    } else if (this.b.structs[t] !== undefined && !this.lookup(t)) {
      this.expect('.');
      const member = this.next();
      const declared = this.b.structs[t][member];
      if (!declared && !(t === 'uniforms' && this.b.abstractUniforms)) throw new Error(`wgsl-typed: ${t}.${member} is not declared`);
      e = { js: `${jsName(t)}.${member}`, type: declared ?? 'int' };
    } else if (this.arrayType(t) && !this.lookup(t)) {
      this.expect('[');
      const i = this.expr(0);
      this.expect(']');
      e = { js: `${jsName(t)}[${this.index(i)}]`, type: this.arrayType(t)! };
    } else {
      const type = this.lookup(t);
      if (!type) throw new Error(`wgsl-typed: unknown name '${t}'`);
      e = { js: jsName(t), type };
    }
    // Postfix: a vec4 component v[i], a vec3 member v.x.
    for (;;) {
      if (this.peek() === '[' && e.type === 'vec4f') {
        this.next();
        const i = this.expr(0);
        this.expect(']');
        e = { js: `${e.js}[${this.index(i)}]`, type: 'f32' };
      } else if (this.peek() === '.' && e.type === 'vec3u') {
        this.next();
        const m = this.next();
        if (!['x', 'y', 'z'].includes(m)) throw new Error(`wgsl-typed: .${m} of a vec3<u32>`);
        e = { js: `${e.js}.${m}`, type: 'u32' };
      } else if (this.peek() === '.' && e.type === 'vec4f') {
        this.next();
        const m = 'xyzw'.indexOf(this.next());
        if (m < 0) throw new Error('wgsl-typed: a vec4 member other than .x .y .z .w');
        e = { js: `${e.js}[${m}]`, type: 'f32' };
      } else {
        return e;
      }
    }
  }

  /** An index: i32 or u32 as it is, an abstract int as i32. */
  private index(i: Expr): string {
    const ct = concrete(i.type);
    if (ct !== 'i32' && ct !== 'u32') throw new Error(`wgsl-typed: an index of type ${i.type} (${i.js})`);
    return this.coerce(i, ct);
  }

  private args(): Expr[] {
    this.expect('(');
    const args: Expr[] = [];
    while (this.peek() !== ')') {
      args.push(this.expr(0));
      if (this.peek() === ',') this.next();
    }
    this.expect(')');
    return args;
  }

  private call(name: string, args: Expr[]): Expr {
    const [a, b, c] = args;
    switch (name) {
      case 'u32':
        return { js: concrete(a.type) === 'f32' ? `__f2u(${a.js})` : `((${a.js}) >>> 0)`, type: 'u32' };
      case 'i32':
        return { js: concrete(a.type) === 'f32' ? `__f2i(${a.js})` : `((${a.js}) | 0)`, type: 'i32' };
      case 'f32':
        return { js: a.value !== undefined ? String(Math.fround(a.value)) : `F(${a.js})`, type: 'f32' };
      case 'select': {
        const t = concrete(unify(a.type, b.type, 'select'));
        if (c.type !== 'bool') throw new Error(`wgsl-typed: select's condition is ${c.type}`);
        return { js: `(${c.js} ? ${this.coerce(b, t)} : ${this.coerce(a, t)})`, type: t };
      }
      case 'min':
      case 'max': {
        const t = concrete(unify(a.type, b.type, name));
        if (t === 'vec4f') throw new Error(`wgsl-typed: ${name} of vec4`);
        return { js: `Math.${name}(${this.coerce(a, t)}, ${this.coerce(b, t)})`, type: t };
      }
      case 'clamp': {
        const t = concrete(unify(unify(a.type, b.type, 'clamp'), c.type, 'clamp'));
        if (t === 'vec4f') throw new Error('wgsl-typed: clamp of vec4');
        return { js: `Math.min(Math.max(${this.coerce(a, t)}, ${this.coerce(b, t)}), ${this.coerce(c, t)})`, type: t };
      }
      case 'fma': {
        const t = concrete(unify(unify(a.type, b.type, 'fma'), c.type, 'fma'));
        if (t === 'vec4f') return { js: `__fma4(${[a, b, c].map((x) => this.coerce(x, 'vec4f')).join(', ')})`, type: 'vec4f' };
        return { js: `F(${this.coerce(a, 'f32')} * ${this.coerce(b, 'f32')} + ${this.coerce(c, 'f32')})`, type: 'f32' };
      }
      case 'dot':
        return { js: `__dot4(${this.coerce(a, 'vec4f')}, ${this.coerce(b, 'vec4f')})`, type: 'f32' };
      case 'workgroupBarrier':
        throw new Error('wgsl-typed: workgroupBarrier() inside an expression');
      default: {
        if (F32_BUILTINS[name]) {
          for (const x of args) if (x.type !== 'f32' && !isAbstract(x.type)) throw new Error(`wgsl-typed: ${name} of ${x.type}`);
          return { js: `F(${F32_BUILTINS[name](args.map((x) => this.coerce(x, 'f32')))})`, type: 'f32' };
        }
        const sig = this.fns.get(name);
        if (!sig) throw new Error(`wgsl-typed: unknown function '${name}'`);
        if (!sig.ret) throw new Error(`wgsl-typed: ${name} returns nothing`);
        if (args.length !== sig.params.length) throw new Error(`wgsl-typed: ${name} takes ${sig.params.length} arguments, got ${args.length}`);
        return { js: `${jsName(name)}(${args.map((x, i) => this.coerce(x, sig.params[i])).join(', ')})`, type: sig.ret };
      }
    }
  }

  private static PREC: Record<string, number> = { '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10 };

  expr(min: number): Expr {
    let left = this.primary();
    for (;;) {
      const op = this.peek();
      const p = op === undefined ? undefined : Translator.PREC[op];
      if (p === undefined || p < min) return left;
      this.next();
      const right = this.expr(p + 1);
      if (op === '&&' || op === '||') {
        if (left.type !== 'bool' || right.type !== 'bool') throw new Error(`wgsl-typed: '${op}' of ${left.type} and ${right.type}`);
        left = { js: `(${left.js} ${op} ${right.js})`, type: 'bool' };
      } else if (p === 6 || p === 7) {
        const t = concrete(unify(left.type, right.type, op!));
        const jsOp = op === '==' ? '===' : op === '!=' ? '!==' : op;
        left = { js: `(${this.coerce(left, t)} ${jsOp} ${this.coerce(right, t)})`, type: 'bool' };
      } else if (op === '<<' || op === '>>') {
        // The value's type is the result's; the shift amount is u32 (or an abstract int).
        const t = left.type;
        if (isAbstract(t) && isAbstract(right.type) && left.value !== undefined && right.value !== undefined) {
          const v = op === '<<' ? left.value << right.value : left.value >> right.value;
          left = { js: String(v), type: 'int', value: v };
        } else {
          left = { js: arith(op, this.coerce(left, concrete(t)), this.coerce(right, concrete(right.type)), t), type: concrete(t) };
        }
      } else {
        const t = unify(left.type, right.type, op!);
        if (isAbstract(t) && left.value !== undefined && right.value !== undefined) {
          // Abstract arithmetic is exact enough in float64 (WGSL evaluates it at higher precision than f32).
          let v = { '+': left.value + right.value, '-': left.value - right.value, '*': left.value * right.value, '/': left.value / right.value, '%': left.value % right.value }[op as '+'];
          if (t === 'int' && op === '/') v = Math.trunc(v);
          if (v === undefined) throw new Error(`wgsl-typed: '${op}' of abstract numbers`);
          left = { js: String(v), type: t, value: v };
        } else {
          const ct = concrete(t);
          left = { js: arith(op!, this.coerce(left, ct), this.coerce(right, ct), ct), type: ct };
        }
      }
    }
  }

  private block(): string {
    this.expect('{');
    this.scopes.push(new Map());
    const out: string[] = [];
    while (this.peek() !== '}') out.push(this.statement());
    this.expect('}');
    this.scopes.pop();
    return `{\n${out.join('\n')}\n}`;
  }

  /** let/var name (: T)? = expr; — the declared or inferred type, the value coerced to it. */
  private declaration(): string {
    const kind = this.next();
    const name = this.next();
    let declared: ValueType | undefined;
    if (this.peek() === ':') {
      this.next();
      declared = this.type();
    }
    this.expect('=');
    const e = this.expr(0);
    this.expect(';');
    const type = declared ?? concrete(e.type);
    const js = `${kind === 'let' ? 'const' : 'let'} ${jsName(name)} = ${this.coerce(e, type)};`;
    this.declare(name, type);
    return js;
  }

  statement(): string {
    const t = this.peek()!;
    if (t === 'let' || t === 'var') return this.declaration();
    if (t === '{') return this.block();
    if (t === 'if') {
      this.next();
      this.expect('(');
      const c = this.expr(0);
      this.expect(')');
      if (c.type !== 'bool') throw new Error(`wgsl-typed: an if of ${c.type}`);
      let js = `if (${c.js}) ${this.block()}`;
      if (this.peek() === 'else') {
        this.next();
        js += ` else ${this.peek() === 'if' ? this.statement() : this.block()}`;
      }
      return js;
    }
    if (t === 'for') {
      this.next();
      this.expect('(');
      this.scopes.push(new Map());
      const init = this.declaration(); // ends with ';'
      const c = this.expr(0);
      this.expect(';');
      const stepName = this.next();
      const stepType = this.lookup(stepName);
      if (!stepType) throw new Error(`wgsl-typed: a for loop stepping unknown '${stepName}'`);
      this.expect('=');
      const step = this.expr(0);
      this.expect(')');
      const body = this.block();
      this.scopes.pop();
      return `for (${init} ${c.js}; ${jsName(stepName)} = ${this.coerce(step, stepType)}) ${body}`;
    }
    if (t === 'return') {
      this.next();
      if (this.peek() === ';') {
        this.next();
        return 'return;';
      }
      const e = this.expr(0);
      this.expect(';');
      return `return ${e.js};`;
    }
    if (t === 'workgroupBarrier') {
      this.next();
      this.expect('(');
      this.expect(')');
      this.expect(';');
      if (!this.inGenerator) throw new Error('wgsl-typed: workgroupBarrier() outside a workgroup shader\'s main');
      return 'yield;';
    }
    if (t === 'setOutputAtIndex') {
      this.next();
      this.expect('(');
      const i = this.expr(0);
      this.expect(',');
      const v = this.expr(0);
      this.expect(')');
      this.expect(';');
      return `out[${this.index(i)}] = ${this.coerce(v, 'f32')};`;
    }
    return this.assignment();
  }

  /** name = e; name[i] = e; name[i][c] = e (a component of a vec4 array element); v[c] = e (a local vec4). */
  private assignment(): string {
    const name = this.next();
    const local = this.lookup(name);
    const array = local ? undefined : this.arrayType(name);
    if (!local && !array) throw new Error(`wgsl-typed: assignment to unknown '${name}'`);
    let target = jsName(name);
    let type: ValueType;
    let component: string | undefined;
    if (array) {
      this.expect('[');
      const i = this.expr(0);
      this.expect(']');
      target = `${target}[${this.index(i)}]`;
      type = array;
    } else {
      type = local!;
    }
    if (this.peek() === '[') {
      if (type !== 'vec4f') throw new Error(`wgsl-typed: indexing ${type} ${name}`);
      this.next();
      const c = this.expr(0);
      this.expect(']');
      component = this.index(c);
    }
    this.expect('=');
    const e = this.expr(0);
    this.expect(';');
    if (component !== undefined) return `${target} = __setc(${target}, ${component}, ${this.coerce(e, 'f32')});`;
    return `${target} = ${this.coerce(e, type)};`;
  }

  /** var<workgroup> name : array<T, N>; */
  private workgroupVar(): string {
    this.expect('var');
    this.expect('<');
    this.expect('workgroup');
    this.expect('>');
    const name = this.next();
    this.expect(':');
    this.expect('array');
    this.expect('<');
    const elem = this.type();
    this.expect(',');
    const n = Number(this.next());
    this.closeAngle();
    this.expect(';');
    if (elem === 'bool' || elem === 'vec3u') throw new Error(`wgsl-typed: workgroup array of ${elem}`);
    this.workgroupArrays.set(name, elem);
    const init = { f32: `new Float32Array(${n})`, i32: `new Int32Array(${n})`, u32: `new Uint32Array(${n})`, vec4f: `new Array(${n}).fill(__Z4)` }[elem];
    return `const ${jsName(name)} = ${init};`;
  }

  /** fn name(p : T, …) (-> T)? { … }: a helper, or main as a function (flat) or a generator (workgroup). */
  private fn(workgroup: boolean): { name: string; js: string } {
    this.expect('fn');
    const name = this.next();
    this.expect('(');
    const params: [string, ValueType][] = [];
    while (this.peek() !== ')') {
      const p = this.next();
      this.expect(':');
      params.push([p, this.type()]);
      if (this.peek() === ',') this.next();
    }
    this.expect(')');
    let ret: ValueType | undefined;
    if (this.peek() === '->') {
      this.next();
      ret = this.type();
    }
    if (name !== 'main') this.fns.set(name, { params: params.map((p) => p[1]), ret });
    this.scopes.push(new Map(params));
    const isMain = name === 'main';
    this.inGenerator = isMain && workgroup;
    if (this.inGenerator) {
      if (params.length) throw new Error('wgsl-typed: a workgroup shader\'s main takes no parameters');
      for (const b of ['localId', 'globalId', 'workgroupId', 'numWorkgroups']) this.declare(b, 'vec3u');
    }
    const body = this.block();
    this.inGenerator = false;
    this.scopes.pop();
    const list = params.map((p) => jsName(p[0])).join(', ');
    if (isMain) return { name, js: workgroup ? `function* (localId, globalId, workgroupId) ${body}` : `function (${list}) ${body}` };
    return { name, js: `function ${jsName(name)}(${list}) ${body}` };
  }

  /** The whole module: workgroup declarations, helper fns and main, in any order (main last in practice). */
  module(workgroup: boolean): Parsed {
    const shared: string[] = [];
    const helpers: string[] = [];
    let main: string | undefined;
    while (!this.atEnd()) {
      if (this.peek() === 'var') {
        if (!workgroup) throw new Error('wgsl-typed: a module-scope var in a flat body');
        shared.push(this.workgroupVar());
        continue;
      }
      const f = this.fn(workgroup);
      if (f.name === 'main') main = f.js;
      else helpers.push(f.js);
    }
    if (!main) throw new Error('wgsl-typed: no fn main');
    return { shared, helpers, main };
  }

  statements(): string {
    const out: string[] = [];
    while (!this.atEnd()) out.push(this.statement());
    return out.join('\n');
  }
}

/**
 * A flat body → JavaScript of a function body that returns `function (index) { … }`; it expects the inputs
 * by name, `uniforms` and `out` in scope. `inputs` names the f32 arrays; `uniformTypes` declares the uniforms'
 * types (as runFlat's uniform tuples do); an undeclared uniform is abstract, like a literal (`size` is i32).
 */
export function translateFlatWgsl(src: string, inputs: readonly string[], uniformTypes: Record<string, ScalarType> = {}): string {
  const t = new Translator(src, {
    arrays: Object.fromEntries(inputs.map((n) => [n, 'f32' as const])),
    structs: { uniforms: { size: 'i32', ...uniformTypes } },
    abstractUniforms: true,
  });
  const m = t.module(false);
  return `${RUNTIME}\n${m.helpers.join('\n')}\nreturn ${m.main};`;
}

/**
 * A workgroup shader → JavaScript of a function body that returns the workgroup factory
 * `(…inputs, result, uniforms, numWorkgroups) => (localId, globalId, workgroupId) => generator`: each call of
 * the factory is one workgroup with its own workgroup memory; each generator one thread, yielding at barriers.
 * `resultType` is the result's element type (vec4f: a shader of tfjs's outputComponent 4, its result an array of 4-arrays).
 */
export function translateWorkgroupWgsl(src: string, inputs: Record<string, ArrayType>, uniformTypes: Record<string, ScalarType>, resultType: ArrayType = 'f32'): string {
  const t = new Translator(src, { arrays: { ...inputs, result: resultType }, structs: { uniforms: uniformTypes } });
  const m = t.module(true);
  const names = [...Object.keys(inputs).map(jsName), 'result', 'uniforms', 'numWorkgroups'];
  return `${RUNTIME}\nreturn function (${names.join(', ')}) {\n${m.shared.join('\n')}\n${m.helpers.join('\n')}\nreturn ${m.main};\n};`;
}

/** A statement list (an element body) over the bindings' arrays, structs and locals → JavaScript statements (with the runtime). */
export function translateWgslStatements(src: string, bindings: WgslBindings): string {
  return `${RUNTIME}\n${new Translator(src, bindings).statements()}`;
}
