declare module 'chrome-native-messaging' {
  import type { Transform } from 'node:stream';
  /** Objects in, framed bytes out. */
  export class Output extends Transform {
    constructor();
  }
  export class Input extends Transform {
    constructor();
  }
}
