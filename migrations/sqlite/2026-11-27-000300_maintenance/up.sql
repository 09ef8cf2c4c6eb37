-- The cluster-wide maintenance mode (GET/PUT /maintenance): one row.
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY NOT NULL,
    status VARCHAR(16) NOT NULL
);
INSERT INTO maintenance (id, status) VALUES (1, 'RUNNING');
