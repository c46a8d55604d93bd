// typescript-eslint's type-checked recommended rules over every TypeScript file (README's test command runs it).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.artifacts/**', '.tools/**', 'node_modules/**', 'extension/dist/**', '.bench-tmp/**', 'test/fixtures/**/*.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vite.config.ts', 'vitest.*.config.ts', 'extension/tools/*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A leading underscore says "deliberately unused" (a destructured-away field, a callback's position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Tables of handlers keep one async signature whether or not an entry awaits.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read what they received (JSON, fakes, foreign modules) and check it with expect().
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
);
