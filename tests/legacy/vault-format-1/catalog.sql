PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO journal VALUES(1,'2024-06-03T09:00:00.000+08:00','root','vault.init',NULL,'{"bureau":"株洲市城市管理和综合执法局","catalog_version":2,"clock_skew_seconds":300,"created_at":"2024-06-03T09:00:00.000+08:00","devices":{},"format":"zfjl-vault","id":"fd37050b-94b6-4772-8ef7-cdd77a8715cc","metadata_clock":"local","name_patterns":[],"retention":{},"roles":{"root":["admin"]},"timezone":"Asia/Shanghai","upload_deadline_working_days":2,"version":1}','0000000000000000000000000000000000000000000000000000000000000000','1aa9a166e3a1678bbe460d81320cfa8f4e9e54ce8baabc4bf18682c8c2d143b5');
INSERT INTO journal VALUES(2,'2024-06-03T09:00:00.000+08:00','root','device.add','device:DSJ09','{"assigned_to":"012345","device":"DSJ09","model":"X1","note":null,"serial":"S9","since":"2024-01-01T00:00:00+08:00","unit":"天元大队"}','1aa9a166e3a1678bbe460d81320cfa8f4e9e54ce8baabc4bf18682c8c2d143b5','24b36ccd183500878969108d5e9ed852edf9965d9cf834995174799725247f1b');
INSERT INTO journal VALUES(3,'2024-06-03T09:00:00.000+08:00','root','ingest.begin','run:9dfed99a7f1c','{"bytes":10921,"files":1,"host":"vm","options":{"clear_source":false,"device":null,"officer":null},"run":"9dfed99a7f1c","source":"/tmp/oldcard"}','24b36ccd183500878969108d5e9ed852edf9965d9cf834995174799725247f1b','9d20bf189730447a9356b0237100fa559de32d2d5cd04dd43b9f27d45458861b');
INSERT INTO journal VALUES(4,'2024-06-03T09:00:00.000+08:00','root','object.add','8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','{"object":{"id":"8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224","sha256":"ca6883652d7ae5cfb23ab95c8ad25b04eb1d8f9fac3c2c67e77392f4bdc328fa","size":10921},"recording":{"clock_skew":true,"device":"DSJ09","duration":0.534,"file_type":"MP4","gps_lat":null,"gps_lon":null,"important":false,"kind":"video","late":false,"late_deadline":"2024-06-05","late_note":null,"make":null,"meta_time":"2024-06-03T16:30:00+08:00","metadata":{"Composite:AvgBitrate":139251,"Composite:ImageSize":"64 48","Composite:Megapixels":0.003072,"Composite:Rotation":0,"File:FileSize":10921,"File:FileType":"MP4","File:FileTypeExtension":"MP4","File:MIMEType":"video/mp4","QuickTime:AudioBitsPerSample":16,"QuickTime:AudioChannels":2,"QuickTime:AudioFormat":"mp4a","QuickTime:AudioSampleRate":44100,"QuickTime:AverageBitrate":68400,"QuickTime:Balance":0,"QuickTime:BitDepth":24,"QuickTime:BufferSize":0,"QuickTime:CompatibleBrands":["isom","iso2","avc1","mp41"],"QuickTime:CompressorID":"avc1","QuickTime:CompressorName":"Lavc59.37.100 libx264","QuickTime:CreateDate":"2024:06:03 08:30:00","QuickTime:CurrentTime":0,"QuickTime:Duration":0.534,"QuickTime:Encoder":"Lavf59.27.100","QuickTime:GraphicsMode":0,"QuickTime:HandlerDescription":"SoundHandler","QuickTime:HandlerType":"mdir","QuickTime:HandlerVendorID":"appl","QuickTime:ImageHeight":48,"QuickTime:ImageWidth":64,"QuickTime:MajorBrand":"isom","QuickTime:MatrixStructure":"1 0 0 0 1 0 0 0 1","QuickTime:MaxBitrate":68400,"QuickTime:MediaCreateDate":"2024:06:03 08:30:00","QuickTime:MediaDataOffset":48,"QuickTime:MediaDataSize":9295,"QuickTime:MediaDuration":0.523219954648526,"QuickTime:MediaHeaderVersion":0,"QuickTime:MediaLanguageCode":"und","QuickTime:MediaModifyDate":"2024:06:03 08:30:00","QuickTime:MediaTimeScale":44100,"QuickTime:MinorVersion":"0.2.0","QuickTime:ModifyDate":"2024:06:03 08:30:00","QuickTime:MovieHeaderVersion":0,"QuickTime:NextTrackID":3,"QuickTime:OpColor":"0 0 0","QuickTime:PixelAspectRatio":"1:1","QuickTime:PosterTime":0,"QuickTime:PreferredRate":1,"QuickTime:PreferredVolume":1,"QuickTime:PreviewDuration":0,"QuickTime:PreviewTime":0,"QuickTime:SelectionDuration":0,"QuickTime:SelectionTime":0,"QuickTime:SourceImageHeight":48,"QuickTime:SourceImageWidth":64,"QuickTime:TimeScale":1000,"QuickTime:TrackCreateDate":"2024:06:03 08:30:00","QuickTime:TrackDuration":0.534,"QuickTime:TrackHeaderVersion":0,"QuickTime:TrackID":1,"QuickTime:TrackLayer":0,"QuickTime:TrackModifyDate":"2024:06:03 08:30:00","QuickTime:TrackVolume":0,"QuickTime:VideoFrameRate":15,"QuickTime:XResolution":72,"QuickTime:YResolution":72},"mime":"video/mp4","model":null,"mtime":"2026-12-02T08:52:48+08:00","name_time":"2024-06-03T08:30:00+08:00","officer":"012345","original_name":"DSJ09_20240603_083000_0001.MP4","recorded_at":"2024-06-03T08:30:00+08:00","run":"9dfed99a7f1c","serial":null,"skew_seconds":78798168.451,"time_source":"name","warnings":[{"code":"clock_skew","message":"时钟偏差 78798168 秒（录制时间与文件修改时间），超过 300 秒：记录仪时钟可能不准"}]},"run":"9dfed99a7f1c"}','9d20bf189730447a9356b0237100fa559de32d2d5cd04dd43b9f27d45458861b','cad08f1cbdb79a1a5bbaea27ed1b7690fc45652a49bffe4b7ed67d0b9f934cf4');
INSERT INTO journal VALUES(5,'2024-06-03T09:00:00.000+08:00','root','object.seen','8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','{"device":"DSJ09","id":"8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224","important":false,"mtime":"2026-12-02T08:52:48+08:00","name_hex":null,"officer":null,"original_name":"DSJ09_20240603_083000_0001.MP4","run":"9dfed99a7f1c","size":10921,"source_path":"DSJ09_20240603_083000_0001.MP4"}','cad08f1cbdb79a1a5bbaea27ed1b7690fc45652a49bffe4b7ed67d0b9f934cf4','734b1492b056566b8eb00976ed91b2ad3a696a7c9e1a2519e1c699abd9c1cadf');
INSERT INTO journal VALUES(6,'2024-06-03T09:00:00.000+08:00','root','ingest.end','run:9dfed99a7f1c','{"run":"9dfed99a7f1c","status":"completed","summary":{"already_stored":0,"bytes":10921,"bytes_copied":10921,"cleared":0,"clock_skew":1,"device_fault":0,"failed":0,"files":1,"late":0,"late_unknown":0,"mb_per_s":0.1,"new":1,"probed":1,"seconds":0.142,"skipped":0,"stage_seconds":{"catalog":0.005,"clear":0.0,"probe":0.129,"sync":0.002},"unregistered_devices":[],"warnings":1}}','734b1492b056566b8eb00976ed91b2ad3a696a7c9e1a2519e1c699abd9c1cadf','08332cc5414f38b32a96a08f2fe42d909edb13784af97e6c024d877d0cfe9a66');
INSERT INTO journal VALUES(7,'2024-06-03T09:00:00.000+08:00','root','grant.add','8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','{"approval_no":"局批〔2024〕8号","approved_by":"王局长","purpose":null,"scope":"view","target":"8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224","target_kind":"recording","until":"2099-12-31","user":"zhangsan"}','08332cc5414f38b32a96a08f2fe42d909edb13784af97e6c024d877d0cfe9a66','19230564351843a30dcd79d161fd26f708d69c0b97e08d569e973680a5249a66');
INSERT INTO journal VALUES(8,'2024-06-03T09:00:00.000+08:00','root','hold.place','8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','{"note":"当事人投诉","reason":"dispute","target":"8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224","target_kind":"recording"}','19230564351843a30dcd79d161fd26f708d69c0b97e08d569e973680a5249a66','c3a1a094084ce2a72b47fb98307aa78c0df8b1f333b7dbbde114b7d95eaf9455');
CREATE TABLE objects (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
INSERT INTO objects VALUES('8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','ca6883652d7ae5cfb23ab95c8ad25b04eb1d8f9fac3c2c67e77392f4bdc328fa',10921,'2024-06-03T09:00:00.000+08:00',4);
CREATE TABLE recordings (
    id TEXT PRIMARY KEY REFERENCES objects(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    mime TEXT,
    file_type TEXT,
    device TEXT,
    officer TEXT,
    recorded_at TEXT,
    time_source TEXT,
    duration REAL,
    original_name TEXT,
    ingested_at TEXT NOT NULL,
    late INTEGER,
    late_deadline TEXT,
    late_note TEXT,
    important INTEGER NOT NULL DEFAULT 0,
    make TEXT,
    model TEXT,
    serial TEXT,
    gps_lat REAL,
    gps_lon REAL,
    name_time TEXT,
    meta_time TEXT,
    mtime TEXT,
    clock_skew INTEGER NOT NULL DEFAULT 0,
    skew_seconds REAL,
    warnings TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    run TEXT
);
INSERT INTO recordings VALUES('8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','ca6883652d7ae5cfb23ab95c8ad25b04eb1d8f9fac3c2c67e77392f4bdc328fa',10921,'video','video/mp4','MP4','DSJ09','012345','2024-06-03T08:30:00+08:00','name',0.53400000000000003019,'DSJ09_20240603_083000_0001.MP4','2024-06-03T09:00:00.000+08:00',0,'2024-06-05',NULL,0,NULL,NULL,NULL,NULL,NULL,'2024-06-03T08:30:00+08:00','2024-06-03T16:30:00+08:00','2026-12-02T08:52:48+08:00',1,78798168.451000005006,'[{"code": "clock_skew", "message": "时钟偏差 78798168 秒（录制时间与文件修改时间），超过 300 秒：记录仪时钟可能不准"}]','{"Composite:AvgBitrate": 139251, "Composite:ImageSize": "64 48", "Composite:Megapixels": 0.003072, "Composite:Rotation": 0, "File:FileSize": 10921, "File:FileType": "MP4", "File:FileTypeExtension": "MP4", "File:MIMEType": "video/mp4", "QuickTime:AudioBitsPerSample": 16, "QuickTime:AudioChannels": 2, "QuickTime:AudioFormat": "mp4a", "QuickTime:AudioSampleRate": 44100, "QuickTime:AverageBitrate": 68400, "QuickTime:Balance": 0, "QuickTime:BitDepth": 24, "QuickTime:BufferSize": 0, "QuickTime:CompatibleBrands": ["isom", "iso2", "avc1", "mp41"], "QuickTime:CompressorID": "avc1", "QuickTime:CompressorName": "Lavc59.37.100 libx264", "QuickTime:CreateDate": "2024:06:03 08:30:00", "QuickTime:CurrentTime": 0, "QuickTime:Duration": 0.534, "QuickTime:Encoder": "Lavf59.27.100", "QuickTime:GraphicsMode": 0, "QuickTime:HandlerDescription": "SoundHandler", "QuickTime:HandlerType": "mdir", "QuickTime:HandlerVendorID": "appl", "QuickTime:ImageHeight": 48, "QuickTime:ImageWidth": 64, "QuickTime:MajorBrand": "isom", "QuickTime:MatrixStructure": "1 0 0 0 1 0 0 0 1", "QuickTime:MaxBitrate": 68400, "QuickTime:MediaCreateDate": "2024:06:03 08:30:00", "QuickTime:MediaDataOffset": 48, "QuickTime:MediaDataSize": 9295, "QuickTime:MediaDuration": 0.523219954648526, "QuickTime:MediaHeaderVersion": 0, "QuickTime:MediaLanguageCode": "und", "QuickTime:MediaModifyDate": "2024:06:03 08:30:00", "QuickTime:MediaTimeScale": 44100, "QuickTime:MinorVersion": "0.2.0", "QuickTime:ModifyDate": "2024:06:03 08:30:00", "QuickTime:MovieHeaderVersion": 0, "QuickTime:NextTrackID": 3, "QuickTime:OpColor": "0 0 0", "QuickTime:PixelAspectRatio": "1:1", "QuickTime:PosterTime": 0, "QuickTime:PreferredRate": 1, "QuickTime:PreferredVolume": 1, "QuickTime:PreviewDuration": 0, "QuickTime:PreviewTime": 0, "QuickTime:SelectionDuration": 0, "QuickTime:SelectionTime": 0, "QuickTime:SourceImageHeight": 48, "QuickTime:SourceImageWidth": 64, "QuickTime:TimeScale": 1000, "QuickTime:TrackCreateDate": "2024:06:03 08:30:00", "QuickTime:TrackDuration": 0.534, "QuickTime:TrackHeaderVersion": 0, "QuickTime:TrackID": 1, "QuickTime:TrackLayer": 0, "QuickTime:TrackModifyDate": "2024:06:03 08:30:00", "QuickTime:TrackVolume": 0, "QuickTime:VideoFrameRate": 15, "QuickTime:XResolution": 72, "QuickTime:YResolution": 72}','9dfed99a7f1c');
CREATE TABLE sightings (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL,
    run TEXT,
    seen_at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    original_name TEXT NOT NULL,
    name_hex TEXT,
    size INTEGER NOT NULL,
    mtime TEXT,
    device TEXT,
    officer TEXT,
    important INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sightings VALUES(5,'8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','9dfed99a7f1c','2024-06-03T09:00:00.000+08:00','DSJ09_20240603_083000_0001.MP4','DSJ09_20240603_083000_0001.MP4',NULL,10921,'2026-12-02T08:52:48+08:00','DSJ09',NULL,0);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    host TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    ended_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    summary TEXT
);
INSERT INTO runs VALUES('9dfed99a7f1c','2024-06-03T09:00:00.000+08:00','/tmp/oldcard','root','vm','{"clear_source": false, "device": null, "officer": null}','2024-06-03T09:00:00.000+08:00','completed','{"already_stored": 0, "bytes": 10921, "bytes_copied": 10921, "cleared": 0, "clock_skew": 1, "device_fault": 0, "failed": 0, "files": 1, "late": 0, "late_unknown": 0, "mb_per_s": 0.1, "new": 1, "probed": 1, "seconds": 0.142, "skipped": 0, "stage_seconds": {"catalog": 0.005, "clear": 0.0, "probe": 0.129, "sync": 0.002}, "unregistered_devices": [], "warnings": 1}');
CREATE TABLE failures (
    seq INTEGER PRIMARY KEY,
    run TEXT,
    at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE cleared_sources (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL,
    source_path TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    notice TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    procedure TEXT NOT NULL,
    cause TEXT NOT NULL,
    party TEXT NOT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    data TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE case_media (
    case_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    activity TEXT NOT NULL,
    document TEXT,
    PRIMARY KEY (case_id, recording_id, activity, document)
);
CREATE TABLE object_digests (
    id TEXT PRIMARY KEY,
    sha512 TEXT NOT NULL,
    sm3 TEXT NOT NULL
);
CREATE TABLE calendar_days (
    date TEXT PRIMARY KEY,
    workday INTEGER NOT NULL,
    name TEXT
);
CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT,
    placed_at TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT,
    release_approval TEXT,
    seq INTEGER NOT NULL
);
INSERT INTO holds VALUES('H-8','8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','recording','dispute','当事人投诉','2024-06-03T09:00:00.000+08:00','root',NULL,NULL,NULL,8);
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approval_no TEXT NOT NULL,
    until TEXT NOT NULL,
    purpose TEXT,
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    revoke_reason TEXT,
    seq INTEGER NOT NULL
);
INSERT INTO grants VALUES('G-7','zhangsan','8ed492c44109ac2a8a51ffef2272c0696e5b21646c1017859848864e17797224','recording','view','王局长','局批〔2024〕8号','2099-12-31',NULL,'2024-06-03T09:00:00.000+08:00','root',NULL,NULL,NULL,7);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    model TEXT,
    serial TEXT,
    unit TEXT,
    status TEXT NOT NULL,
    registered INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    note TEXT,
    seq INTEGER NOT NULL
);
INSERT INTO devices VALUES('DSJ09','X1','S9','天元大队','active',1,'2024-01-01T00:00:00+08:00',NULL,2);
CREATE TABLE device_assignments (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    officer TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT
);
INSERT INTO device_assignments VALUES(2,'DSJ09','012345','2024-01-01T00:00:00+08:00',NULL);
CREATE TABLE device_log (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    note TEXT,
    actor TEXT NOT NULL
);
CREATE TABLE spotcheck_items (
    draw TEXT NOT NULL,
    item TEXT NOT NULL,
    item_kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    period TEXT NOT NULL,
    drawn_at TEXT NOT NULL,
    result TEXT,
    failed TEXT,
    note TEXT,
    checker TEXT,
    checked_at TEXT,
    PRIMARY KEY (draw, item)
);
CREATE TABLE tombstones (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    sweep TEXT NOT NULL,
    class TEXT NOT NULL,
    approval TEXT NOT NULL,
    size INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX journal_subject ON journal(subject);
CREATE INDEX journal_kind ON journal(kind);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: DELETE refused'); END;
CREATE TRIGGER journal_in_sequence BEFORE INSERT ON journal
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal)
BEGIN SELECT RAISE(ABORT, 'journal rows are appended in sequence only'); END;
CREATE INDEX objects_size ON objects(size);
CREATE INDEX recordings_device_time ON recordings(device, recorded_at);
CREATE INDEX recordings_officer_time ON recordings(officer, recorded_at);
CREATE INDEX recordings_time ON recordings(recorded_at);
CREATE INDEX sightings_object ON sightings(object_id);
CREATE INDEX case_media_recording ON case_media(recording_id);
CREATE INDEX holds_target ON holds(target);
CREATE INDEX grants_user ON grants(user, target);
CREATE INDEX device_assignments_device ON device_assignments(device, since);
CREATE INDEX device_log_device ON device_log(device, at);
COMMIT;
