import { useRef, type ReactNode } from 'react';

/** A button that opens the file picker (optionally for a whole folder). */
export function FileButton({ onFiles, accept, multiple, directory, children, className, testId, disabled }: {
  onFiles(files: File[]): void; accept?: string; multiple?: boolean; directory?: boolean; children: ReactNode;
  className?: string; testId?: string; disabled?: boolean;
}) {
  const input = useRef<HTMLInputElement>(null);
  const dirProps = directory ? ({ webkitdirectory: '', directory: '' } as Record<string, string>) : {};
  return (
    <>
      <button type="button" className={className ?? 'btn'} onClick={() => input.current?.click()} disabled={disabled}>{children}</button>
      <input
        ref={input}
        type="file"
        hidden
        accept={accept}
        multiple={multiple || directory}
        data-testid={testId}
        {...dirProps}
        onChange={(e) => {
          const files = Array.from(e.currentTarget.files ?? []);
          e.currentTarget.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </>
  );
}
