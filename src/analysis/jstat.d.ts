// The part of jStat (https://github.com/jstat/jstat, MIT) the statistics use; jstat ships no types.
declare module 'jstat' {
  interface JStat {
    /** Regularised incomplete beta function I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
    centralF: { cdf(x: number, df1: number, df2: number): number };
    studentt: { cdf(x: number, dof: number): number };
  }
  const jStat: JStat;
  export default jStat;
}
