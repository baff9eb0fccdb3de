ATTACH $path AS analyst_copy (READ_ONLY false, STORAGE_VERSION 'v1.1.0')
